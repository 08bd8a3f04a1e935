"""Nudges: waking a worker after commit without paying the broker on the request.

A nudge is a task message whose only job is to make a worker look at rows that
are already committed (an outbox): the rows are the truth, and a periodic sweeper
takes whatever a lost nudge leaves. Publishing one through Celery costs the
request about half a millisecond of CPU (building the message, the producer pool,
the round trip to the broker), more than the flow's own transaction, so here the
request only hands the nudge to a thread of its process and returns.

The thread waits a moment (``LINGER``) so that the nudges of a burst travel
together, then publishes them: one message for every ``covers`` nudges of the
same task, with the first one's argument. ``covers`` says how many waiting rows
one message takes care of (a task that claims the oldest waiting rows in batches
of 25 covers 25; one that handles only its own argument covers 1). Whatever was
handed over is published before the process exits normally; a process killed in
between loses only nudges, whose rows the sweeper finds.

When tasks run eagerly (the embedded mode without a broker, the unit tests) the
nudge is published at once, in the caller's thread, exactly as before.

Each nudge keeps the caller's context variables (``contextvars``), and a message
is published in the context of the first nudge it carries: the request id
(``config.requestlog``) reaches the task's headers as if the request had
published it.
"""

from __future__ import annotations

import atexit
import contextvars
import logging
import os
import threading
import time
from collections import deque
from collections.abc import Callable
from typing import Any

log = logging.getLogger(__name__)

# How long the thread lets a burst gather before publishing (seconds): a delay no
# reader of an alert notices, long enough to carry many nudges per message under
# load, which is where the CPU is saved, not only the latency. A message costs
# the process about 0.35 ms of CPU (Celery's message, kombu, the broker's round
# trip). At 20 ms, a web process finishing 150 outcomes a second published about
# one message for three outcomes (bench/flow.py, counted at Redis), some 0.1 ms of
# CPU per outcome; at 100 ms, one for up to ``covers`` of them.
LINGER = 0.1

Publish = Callable[..., None]


class Nudger:
    """A per-process queue of nudges and the thread that publishes them."""

    def __init__(self, *, linger: float = LINGER) -> None:
        self.linger = linger
        self._waiting: deque[tuple[Any, Any, int, Publish, contextvars.Context]] = deque()
        self._wake = threading.Event()
        self._lock = threading.Lock()
        self._pid = 0
        self._thread: threading.Thread | None = None

    def nudge(self, task: Any, arg: Any, *, covers: int, publish: Publish) -> None:
        """Have ``publish(task, arg)`` called soon, off this thread (at once when
        tasks run eagerly)."""
        if task.app.conf.task_always_eager:
            publish(task, arg)
            return
        self._waiting.append((task, arg, max(1, covers), publish, contextvars.copy_context()))
        self._ensure_thread()
        self._wake.set()

    def flush(self) -> int:
        """Publish what is waiting, now, in this thread; how many messages."""
        batch: list[tuple[Any, Any, int, Publish, contextvars.Context]] = []
        while True:
            try:
                batch.append(self._waiting.popleft())
            except IndexError:
                break
        sent = 0
        groups: dict[tuple[str, int, Publish], list[tuple[Any, Any, contextvars.Context]]] = {}
        for task, arg, covers, publish, context in batch:
            groups.setdefault((task.name, covers, publish), []).append((task, arg, context))
        for (_name, covers, publish), items in groups.items():
            for start in range(0, len(items), covers):
                task, arg, context = items[start]
                try:
                    context.run(publish, task, arg)
                except Exception:  # the publisher should not raise; the sweeper covers it
                    log.exception("Could not publish %s(%r); the sweeper covers it.", task, arg)
                sent += 1
        return sent

    def _ensure_thread(self) -> None:
        pid = os.getpid()
        if self._pid == pid and self._thread is not None and self._thread.is_alive():
            return
        with self._lock:
            if self._pid == pid and self._thread is not None and self._thread.is_alive():
                return
            # A new process (a forked server worker) starts its own thread.
            self._pid = pid
            self._wake = threading.Event()
            self._thread = threading.Thread(target=self._run, name="nudger", daemon=True)
            self._thread.start()

    def _run(self) -> None:
        wake = self._wake
        while True:
            wake.wait()
            wake.clear()
            if self.linger:
                time.sleep(self.linger)  # let a burst gather
            self.flush()


nudger = Nudger()
atexit.register(nudger.flush)


def nudge(task: Any, arg: Any, *, covers: int = 1, publish: Publish) -> None:
    """Publish ``task`` with ``arg`` after this call returns, off the request
    (see the module's docstring); ``publish(task, arg)`` must not raise."""
    nudger.nudge(task, arg, covers=covers, publish=publish)
