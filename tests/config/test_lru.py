"""config.lru: the caches' one least-recently-used map."""

from __future__ import annotations

import threading

import pytest

from config.lru import LRU
from workspaces.config_cache import ConfigCache


def test_the_least_recently_used_goes_first() -> None:
    cache: LRU[str, int] = LRU(2)
    cache.put("a", 1)
    cache.put("b", 2)
    assert cache.get("a") == 1  # "a" is now the most recent
    cache.put("c", 3)
    assert cache.get("b") is None and cache.get("a") == 1 and cache.get("c") == 3
    cache.put("a", 10)  # put again: replaced, and the most recent
    cache.put("d", 4)
    assert cache.get("c") is None and cache.get("a") == 10 and len(cache) == 2
    cache.clear()
    assert len(cache) == 0 and cache.get("a") is None
    with pytest.raises(ValueError):
        LRU(0)


def test_it_stays_within_its_size_under_threads() -> None:
    cache: LRU[int, int] = LRU(50)

    def fill(offset: int) -> None:
        for i in range(2000):
            cache.put(offset + i, i)
            cache.get(offset + i // 2)

    threads = [threading.Thread(target=fill, args=(n * 10_000,)) for n in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert len(cache) == 50


def test_a_config_cache_keeps_a_none_and_loads_once_per_version(workspace) -> None:
    loads: list[int] = []

    def load(ws):
        loads.append(ws.config_version)
        return None  # e.g. no survey to open: cached like any value

    cache = ConfigCache(load, size=4)
    assert cache.get(workspace) is None and cache.get(workspace) is None
    assert loads == [workspace.config_version]
    workspace.config_version += 1
    cache.get(workspace)
    assert len(loads) == 2
