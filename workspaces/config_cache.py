"""In-process caches of a workspace's flow configuration, keyed by its version.

Every change to what the flow reads (offers, rules, teams, the classifier…) bumps
``Workspace.config_version`` (services and admin alike), and the flow loads the
workspace with the session anyway: so a cache keyed by ``(pk, public_id,
config_version)`` costs the request no query and is never stale. The random
public id is in the key too, so a reused primary key (a deleted workspace's, on
SQLite) never sees another workspace's entry.
"""

from __future__ import annotations

import threading
from collections import OrderedDict
from collections.abc import Callable
from typing import Generic, TypeVar

from workspaces.models import Workspace

T = TypeVar("T")


class ConfigCache(Generic[T]):
    """The last ``size`` configurations built by ``load``, least recently used out."""

    def __init__(self, load: Callable[[Workspace], T], *, size: int = 64) -> None:
        self._load = load
        self._size = size
        self._entries: OrderedDict[tuple[int, str, int], T] = OrderedDict()
        self._lock = threading.Lock()

    def get(self, workspace: Workspace) -> T:
        key = (workspace.pk, workspace.public_id, workspace.config_version)
        with self._lock:
            if key in self._entries:
                self._entries.move_to_end(key)
                return self._entries[key]
        value = self._load(workspace)
        with self._lock:
            self._entries[key] = value
            while len(self._entries) > self._size:
                self._entries.popitem(last=False)
        return value

    def clear(self) -> None:
        with self._lock:
            self._entries.clear()
