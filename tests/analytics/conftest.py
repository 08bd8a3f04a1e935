"""A small, hand-countable history in a workspace east of UTC (Asia/Shanghai,
UTC+8), so day boundaries differ from UTC's.

Local dates (the period under test is 2026-03-01 .. 03-03):
  s0  Feb 27 12:00  Pro   $10   too_expensive, offered, cancelled after 10 s  (previous period)
  s1  Mar 1  23:30  Pro   $50   too_expensive "too pricey for us", offered, saved after 120 s
  s2  Mar 2  00:30  Pro   $30   too_expensive (zh-hans), offered, cancelled after 60 s
  s3  Mar 2  10:00  Team  $100  missing_feature "=no API", cancelled after 30 s
  s4  Mar 2  11:00  Team  $20   never answered, abandoned
  s5  Mar 3  09:00  Pro   $40   not_using "busy season", still open
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from analytics.services import SubscriberCountInput, subscriber_counts_record
from surveys.services import (
    session_accept,
    session_answer,
    session_cancel,
    sessions_abandon_stale,
)
from tests.factories import make_offer, make_session, make_workspace


def at(text: str) -> datetime:
    return datetime.fromisoformat(text).replace(tzinfo=UTC)


@pytest.fixture
def history(db: None) -> dict[str, Any]:
    return build_history()


def build_history() -> dict[str, Any]:
    workspace = make_workspace(name="Shanghai Tea", slug="tea", time_zone="Asia/Shanghai")
    offer = make_offer(workspace)  # 30% off for 3 months, for price
    sessions: dict[str, Any] = {}

    def opened(name: str, when: str, plan: str, mrr: int, locale: str | None = "en") -> Any:
        sessions[name] = make_session(
            workspace, plan=plan, mrr_cents=mrr, locale=locale, now=at(when)
        )
        return sessions[name]

    s = opened("s0", "2026-02-27T04:00", "Pro", 1000)
    session_answer(token=s.token, reason_code="too_expensive", now=at("2026-02-27T04:00"))
    session_cancel(token=s.token, now=at("2026-02-27T04:00:10"))

    s = opened("s1", "2026-03-01T15:30", "Pro", 5000)
    s = session_answer(
        token=s.token,
        reason_code="too_expensive",
        text="too pricey for us",
        now=at("2026-03-01T15:31"),
    )
    session_accept(token=s.token, offer_id=offer.pk, now=at("2026-03-01T15:32"))

    s = opened("s2", "2026-03-01T16:30", "Pro", 3000, locale="zh-hans")
    session_answer(token=s.token, reason_code="too_expensive", now=at("2026-03-01T16:30:20"))
    session_cancel(token=s.token, now=at("2026-03-01T16:31"))

    s = opened("s3", "2026-03-02T02:00", "Team", 10000)
    session_answer(
        token=s.token,
        reason_code="missing_feature",
        text="=no API",
        now=at("2026-03-02T02:00:10"),
    )
    session_cancel(token=s.token, now=at("2026-03-02T02:00:30"))

    opened("s4", "2026-03-02T03:00", "Team", 2000, locale=None)
    sessions_abandon_stale(now=at("2026-03-03T04:00"))

    s = opened("s5", "2026-03-03T01:00", "Pro", 4000)
    session_answer(
        token=s.token, reason_code="not_using", text="busy season", now=at("2026-03-03T01:01")
    )

    subscriber_counts_record(
        workspace=workspace,
        counts=[
            SubscriberCountInput(date=datetime(2026, 2, 28).date(), active=1000, new=4),
            SubscriberCountInput(date=datetime(2026, 3, 1).date(), active=1005, new=10),
            SubscriberCountInput(date=datetime(2026, 3, 2).date(), active=1000, new=3),
            SubscriberCountInput(date=datetime(2026, 3, 3).date(), active=990, new=2),
        ],
    )
    return {"workspace": workspace, "offer": offer, "sessions": sessions}


def period(**extra: Any) -> dict[str, str]:
    return {"from": "2026-03-01", "to": "2026-03-03", **extra}


__all__ = ["at", "history", "period", "timedelta"]
