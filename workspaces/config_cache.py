"""In-process caches of a workspace's flow configuration, keyed by its version.

Every change to what the flow reads (offers, rules, teams, the classifier…) bumps
``Workspace.config_version`` (services and admin alike), and the flow loads the
workspace with the session anyway: so a cache keyed by ``(pk, public_id,
config_version)`` costs the request no query and is never stale. The random
public id is in the key too, so a reused primary key (a deleted workspace's, on
SQLite) never sees another workspace's entry.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Generic, TypeVar

from config.lru import LRU
from workspaces.models import Workspace

T = TypeVar("T")


class ConfigCache(Generic[T]):
    """The last ``size`` configurations built by ``load``, least recently used out."""

    def __init__(self, load: Callable[[Workspace], T], *, size: int = 64) -> None:
        self._load = load
        # A value may be None (no survey to open): what is cached is a 1-tuple.
        self._entries: LRU[tuple[int, str, int], tuple[T]] = LRU(size)

    def get(self, workspace: Workspace) -> T:
        key = (workspace.pk, workspace.public_id, workspace.config_version)
        found = self._entries.get(key)
        if found is not None:
            return found[0]
        value = self._load(workspace)
        self._entries.put(key, (value,))
        return value

    def clear(self) -> None:
        self._entries.clear()
