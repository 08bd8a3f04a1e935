"""config.nudge: nudges are published off the caller's thread, one message per
batch they cover, and at once when tasks run eagerly."""

from __future__ import annotations

import threading
import time
from types import SimpleNamespace

from config.nudge import Nudger


def fake_task(name: str, *, eager: bool) -> SimpleNamespace:
    return SimpleNamespace(
        name=name, app=SimpleNamespace(conf=SimpleNamespace(task_always_eager=eager))
    )


def test_eager_tasks_are_published_at_once_in_the_callers_thread() -> None:
    seen: list[tuple[str, int, str]] = []
    task = fake_task("t", eager=True)
    nudger = Nudger()
    nudger.nudge(
        task,
        7,
        covers=25,
        publish=lambda t, arg: seen.append((t.name, arg, threading.current_thread().name)),
    )
    assert seen == [("t", 7, threading.current_thread().name)]


def test_one_message_per_batch_covered_and_one_per_nudge_otherwise() -> None:
    published: list[tuple[str, int]] = []
    batched, single = fake_task("batched", eager=False), fake_task("single", eager=False)
    nudger = Nudger(linger=60)  # the thread waits: flush() below publishes

    def publish(task: SimpleNamespace, arg: int) -> None:
        published.append((task.name, arg))

    for n in range(60):
        nudger.nudge(batched, n, covers=25, publish=publish)
    for n in range(3):
        nudger.nudge(single, 100 + n, covers=1, publish=publish)
    assert published == []  # nothing on the caller's thread
    assert nudger.flush() == 6
    assert published == [
        ("batched", 0),
        ("batched", 25),
        ("batched", 50),
        ("single", 100),
        ("single", 101),
        ("single", 102),
    ]
    assert nudger.flush() == 0


def test_the_thread_publishes_soon_and_a_failing_publish_does_not_stop_it() -> None:
    published: list[int] = []
    task = fake_task("t", eager=False)
    nudger = Nudger(linger=0.001)

    def publish(_task: SimpleNamespace, arg: int) -> None:
        if arg == 1:
            raise RuntimeError("broker down")
        published.append(arg)

    nudger.nudge(task, 1, covers=1, publish=publish)
    nudger.nudge(task, 2, covers=1, publish=publish)
    deadline = time.monotonic() + 5
    while 2 not in published and time.monotonic() < deadline:
        time.sleep(0.01)
    nudger.nudge(task, 3, covers=1, publish=publish)
    while 3 not in published and time.monotonic() < deadline:
        time.sleep(0.01)
    assert published == [2, 3]


def test_a_message_is_published_in_the_context_of_the_first_nudge_it_carries() -> None:
    """The request id (a context variable) reaches the task's headers from the
    publishing thread as it would from the request."""
    import contextvars

    request_id: contextvars.ContextVar[str] = contextvars.ContextVar("request_id", default="-")
    seen: list[tuple[int, str]] = []
    task = fake_task("batched", eager=False)
    nudger = Nudger(linger=60)

    def publish(t: SimpleNamespace, arg: int) -> None:
        seen.append((arg, request_id.get()))

    for n, rid in enumerate(["req-a", "req-b", "req-c"]):
        token = request_id.set(rid)
        nudger.nudge(task, n, covers=2, publish=publish)
        request_id.reset(token)
    done = threading.Thread(target=nudger.flush)
    done.start()
    done.join()
    assert seen == [(0, "req-a"), (2, "req-c")]
