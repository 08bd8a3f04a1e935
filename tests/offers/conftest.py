from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

import pytest

from surveys.models import CancelSession
from surveys.services import CustomerInput, SubscriptionInput, session_open

PERIOD_END = datetime(2026, 12, 22, 12, 0, tzinfo=UTC)
_n = iter(range(1, 10**9))


def open_session(workspace: Any, **kwargs: Any) -> CancelSession:
    """A session with the subscription details the offers' copy is computed from."""
    n = next(_n)
    customer = kwargs.pop("customer_id", f"cust_{n}")
    return session_open(
        workspace=workspace,
        customer=CustomerInput(id=customer, email=kwargs.pop("email", f"o{n}@example.com")),
        subscription=SubscriptionInput(
            id=kwargs.pop("subscription_id", f"subs_{n}"),
            plan=kwargs.pop("plan", "Pro"),
            mrr_cents=kwargs.pop("mrr_cents", 4900),
            currency=kwargs.pop("currency", "USD"),
            started_at=kwargs.pop("started_at", None),
            current_period_end=kwargs.pop("current_period_end", PERIOD_END),
        ),
        locale=kwargs.pop("locale", "en"),
        metadata=kwargs.pop("metadata", None),
        **kwargs,
    ).session


@pytest.fixture
def period_end() -> datetime:
    return PERIOD_END
