"""Time-ordered UUIDs (``config.ids.uuid7``): the layout of RFC 9562's version 7,
ordered by their millisecond, random below it; sessions and outbox events use
them, and session tokens start with their time."""

from __future__ import annotations

import re
import time
import uuid

from config.ids import uuid7
from outbound.models import new_event_id

MS = 1_000_000  # nanoseconds


def test_the_layout_is_version_7() -> None:
    at = 1_797_000_000_123 * MS
    value = uuid7(at)
    assert value.version == 7
    assert value.variant == uuid.RFC_4122
    assert value.int >> 80 == 1_797_000_000_123  # the millisecond, in the first 48 bits


def test_ids_sort_by_their_millisecond_and_are_random_below_it() -> None:
    earlier = [uuid7(5_000 * MS) for _ in range(200)]
    later = [uuid7(5_001 * MS) for _ in range(200)]
    assert max(earlier) < min(later)
    assert len(set(earlier)) == 200
    # 74 random bits: the 12 after the version and the 62 after the variant vary.
    assert len({u.int >> 64 & 0xFFF for u in earlier}) > 150
    assert len({u.int & (1 << 62) - 1 for u in earlier}) == 200
    # The low bits pick a rollup shard (session.pk.int % 8): all eight occur.
    assert {u.int % 8 for u in earlier} == set(range(8))


def test_sessions_and_outbox_events_get_them(db: None) -> None:
    from tests.factories import make_session, make_workspace

    workspace = make_workspace()
    session = make_session(workspace)
    assert session.pk.version == 7
    # The token: its time (12 hex digits, in milliseconds) and 43 URL-safe random
    # characters (256 bits), the secret.
    later = make_session(workspace)
    assert re.fullmatch(r"[0-9a-f]{12}[A-Za-z0-9_-]{43}", session.token)
    assert abs(int(session.token[:12], 16) - time.time_ns() // MS) < 60_000
    assert session.token[:12] <= later.token[:12]
    assert session.token[12:] != later.token[12:]
    event_id = new_event_id()
    assert event_id.startswith("msg_")
    assert uuid.UUID(hex=event_id.removeprefix("msg_")).version == 7
