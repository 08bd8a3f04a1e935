"""Identifiers that index well.

A random UUID (version 4) as a primary key scatters every new row, and every
new version of a row, over the whole of its index: each write touches a leaf
page no recent write touched, and the first change to a page after a checkpoint
writes the whole page to the WAL (8 kB). Measured on the flow (bench, after a
checkpoint), the session's and the outbox row's random keys cost about 20 kB of
WAL per outcome. A version 7 UUID (RFC 9562) starts with the time in
milliseconds, so the rows being written (recent ones) share a few leaf pages at
the end of the index; its other 74 bits are random, so it is as hard to guess
as it is unique. Python has ``uuid.uuid7`` from 3.14; this is the same layout.
"""

from __future__ import annotations

import secrets
import time
import uuid

_RAND_A = (1 << 12) - 1
_RAND_B = (1 << 62) - 1


def uuid7(now_ns: int | None = None) -> uuid.UUID:
    """A version 7 UUID: 48 bits of Unix time in milliseconds, the version (7),
    12 random bits, the RFC variant (``10``) and 62 random bits. ``now_ns``: the
    time to use (nanoseconds since the epoch), for tests."""
    milliseconds = (time.time_ns() if now_ns is None else now_ns) // 1_000_000
    random = secrets.randbits(74)
    value = (
        (milliseconds & ((1 << 48) - 1)) << 80
        | 0x7 << 76
        | (random >> 62 & _RAND_A) << 64
        | 0b10 << 62
        | random & _RAND_B
    )
    return uuid.UUID(int=value)
