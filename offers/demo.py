"""The demo workspace's offers, targeting rules and one running experiment."""

from __future__ import annotations

from typing import Any

from django.db import transaction

from offers.models import Offer
from offers.services import experiment_create, offer_create, offer_rule_create
from workspaces.models import Workspace

DEMO_OFFERS: dict[str, dict[str, Any]] = {
    "discount30": {
        "name": "30% off for 3 months",
        "kind": "discount_percent",
        "terms": {"percent": 30, "months": 3},
        "copy": {
            "en": {"title": "Stay for less", "body": "We'd rather keep you at a lower price."},
            "zh-hans": {"title": "优惠价继续使用", "body": "我们希望以更低的价格留住您。"},
            "de": {
                "title": "Günstiger bleiben",
                "body": "Wir behalten Sie lieber zu einem niedrigeren Preis.",
            },
        },
        "max_uses_per_customer": 1,
    },
    "discount20": {
        "name": "20% off for 3 months",
        "kind": "discount_percent",
        "terms": {"percent": 20, "months": 3},
        "copy": {
            "en": {"title": "Stay for less", "body": "We'd rather keep you at a lower price."},
            "zh-hans": {"title": "优惠价继续使用", "body": "我们希望以更低的价格留住您。"},
            "de": {
                "title": "Günstiger bleiben",
                "body": "Wir behalten Sie lieber zu einem niedrigeren Preis.",
            },
        },
        "max_uses_per_customer": 1,
    },
    "pause": {
        "name": "Pause up to 3 months",
        "kind": "pause",
        "terms": {"max_months": 3},
        "copy": {
            "en": {"title": "Take a break instead", "body": "Keep your data and settings."},
            "zh-hans": {"title": "暂停订阅", "body": "您的数据和设置都会保留。"},
            "de": {
                "title": "Lieber eine Pause",
                "body": "Ihre Daten und Einstellungen bleiben erhalten.",
            },
        },
    },
    "downgrade": {
        "name": "Starter plan at $19",
        "kind": "downgrade",
        "terms": {"plan": "Starter", "price_cents": 1900},
        "copy": {
            "en": {"title": "Keep it simple", "body": "Starter has the essentials, nothing more."},
            "zh-hans": {"title": "换个简单的套餐", "body": "入门版只保留核心功能。"},
            "de": {
                "title": "Einfach halten",
                "body": "Starter hat das Wesentliche, nicht mehr.",
            },
        },
    },
    "support": {
        "name": "Talk to support",
        "kind": "support",
        "terms": {},
        "copy": {
            "en": {
                "title": "Let us fix it",
                "body": "A specialist will call you back within a day.",
            },
            "zh-hans": {"title": "让我们来解决", "body": "专员会在一天内给您回电。"},
            "de": {
                "title": "Lassen Sie es uns lösen",
                "body": "Eine Fachkraft ruft Sie innerhalb eines Tages zurück.",
            },
        },
    },
}


def offers_demo_create(*, workspace: Workspace) -> dict[str, Offer]:
    """Demo offers and rules: an experiment on discount depth (20% vs 30% vs no
    offer) for price answers on the smaller plans, 30% off for other price
    answers, a pause for "not needed now", a downgrade for "too complex", a
    support call for service and quality complaints. Does nothing when the
    workspace has offers already."""
    if Offer.objects.filter(workspace=workspace).exists():
        return {o.name: o for o in Offer.objects.filter(workspace=workspace)}
    with transaction.atomic():
        offers = {
            key: offer_create(workspace=workspace, **spec) for key, spec in DEMO_OFFERS.items()
        }
        experiment = experiment_create(
            workspace=workspace,
            name="Discount depth on price (Starter and Pro)",
            variants=[
                ("20% off", offers["discount20"], 1),
                ("30% off", offers["discount30"], 1),
                ("No offer (control)", None, 1),
            ],
        )
        rules: list[tuple[str, int, dict[str, Any], dict[str, Any]]] = [
            (
                "Price, smaller plans: discount experiment",
                10,
                {"experiment": experiment},
                {"categories": ["price"], "plans": ["Starter", "Pro"]},
            ),
            ("Price: 30% off", 20, {"offer": offers["discount30"]}, {"categories": ["price"]}),
            (
                "Not needed now: pause",
                30,
                {"offer": offers["pause"]},
                {"categories": ["not_needed"]},
            ),
            (
                "Too complex: downgrade",
                40,
                {"offer": offers["downgrade"]},
                {"categories": ["too_complex"], "min_mrr_cents": 4900},
            ),
            (
                "Service or quality: support call",
                50,
                {"offer": offers["support"]},
                {"categories": ["customer_service", "product_quality"]},
            ),
        ]
        for name, priority, target, conditions in rules:
            offer_rule_create(
                workspace=workspace, name=name, priority=priority, **target, **conditions
            )
    return offers
