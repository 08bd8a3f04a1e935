"""Slack incoming webhook with Block Kit: a header, the facts as fields, the
customer's words as a quote, and a button to the inbox."""

from __future__ import annotations

import json
from typing import Any

from alerts.content import alert_context
from alerts.models import Delivery
from alerts.transports.base import ALERT_RELATED, Transport, TransportError, register
from alerts.transports.http import post_json


def _plain(text: str, limit: int = 150) -> dict[str, Any]:
    return {"type": "plain_text", "text": text[:limit] or " "}


def _mrkdwn(text: str, limit: int = 2000) -> dict[str, Any]:
    return {"type": "mrkdwn", "text": text[:limit] or " "}


def _escape(text: str) -> str:
    return text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")


def slack_payload(context: dict[str, Any]) -> dict[str, Any]:
    labels = context["labels"]
    fields = [
        _mrkdwn(f"*{labels['customer']}*\n{_escape(context['customer'])}"),
        _mrkdwn(f"*{labels['plan']}*\n{_escape(context['plan'])} · {context['mrr']}"),
        _mrkdwn(f"*{labels['reason']}*\n{_escape(context['reason'])}"),
        _mrkdwn(f"*{labels['category']}*\n{_escape(context['category'])}"),
        _mrkdwn(f"*{labels['offer']}*\n{_escape(context['offer'])}"),
        _mrkdwn(f"*{labels['risk']}*\n{context['risk_score']}/100"),
    ]
    blocks: list[dict[str, Any]] = [
        {"type": "header", "text": _plain(context["title"])},
        {"type": "section", "fields": fields},
    ]
    if context["text"]:
        quoted = "\n".join("> " + line for line in _escape(context["text"]).splitlines())
        blocks.append({"type": "section", "text": _mrkdwn(f"*{labels['words']}*\n{quoted}", 2900)})
    blocks.append(
        {
            "type": "actions",
            "elements": [
                {
                    "type": "button",
                    "text": _plain(labels["open"], 75),
                    "url": context["url"],
                    "action_id": "open_alert",
                }
            ],
        }
    )
    return {"text": context["title"], "blocks": blocks}


@register
class SlackTransport(Transport):
    kind = "slack"
    related = ALERT_RELATED

    def send(self, delivery: Delivery) -> int | None:
        if delivery.channel is None or delivery.alert is None:
            raise TransportError("A Slack alert needs a channel and an alert.", permanent=True)
        body = json.dumps(slack_payload(alert_context(delivery.alert))).encode()
        return post_json(delivery.channel.target, body, {})
