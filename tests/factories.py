"""Test data, made through the same services the product uses."""

from __future__ import annotations

from typing import Any

import factory
from django.contrib.auth.models import User

from offers.models import Offer
from offers.services import offer_create
from surveys.models import CancelSession
from surveys.services import CustomerInput, SubscriptionInput, session_open
from workspaces.models import Workspace
from workspaces.services import api_key_issue, workspace_create

_counter = iter(range(1, 10**9))


def make_workspace(**kwargs: Any) -> Workspace:
    n = next(_counter)
    kwargs.setdefault("name", f"Workspace {n}")
    kwargs.setdefault("slug", f"ws-{n}")
    return workspace_create(**kwargs)


def make_api_key(workspace: Workspace) -> str:
    return api_key_issue(workspace=workspace, name="test").raw_key


def make_session(workspace: Workspace, **kwargs: Any) -> CancelSession:
    n = next(_counter)
    customer = CustomerInput(id=kwargs.pop("customer_id", f"cus_{n}"), email=f"c{n}@example.com")
    subscription = SubscriptionInput(
        id=kwargs.pop("subscription_id", f"sub_{n}"),
        plan=kwargs.pop("plan", "Pro"),
        mrr_cents=kwargs.pop("mrr_cents", 4900),
        currency=kwargs.pop("currency", ""),
    )
    return session_open(
        workspace=workspace, customer=customer, subscription=subscription, **kwargs
    ).session


def make_offer(workspace: Workspace, **kwargs: Any) -> Offer:
    kwargs.setdefault("name", "30% off for 3 months")
    kwargs.setdefault("kind", "discount_percent")
    kwargs.setdefault("terms", {"percent": 30, "months": 3})
    kwargs.setdefault("categories", ["price"])
    kwargs.setdefault(
        "copy",
        {
            "en": {"title": "Stay for less", "body": "A lower price, just for you."},
            "zh-hans": {"title": "优惠价继续使用", "body": "专属优惠。"},
        },
    )
    return offer_create(workspace=workspace, **kwargs)


class UserFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = User

    username = factory.Sequence(lambda n: f"user{n}")
    email = factory.LazyAttribute(lambda u: f"{u.username}@example.com")
    password = factory.PostGenerationMethodCall("set_password", "pw-for-tests-1")
