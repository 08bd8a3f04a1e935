"""Slack incoming webhook with Block Kit: a header, the facts as fields, the
customer's words as a quote, and a button to the inbox.

Everything a customer or host typed (names, plan, reason, offer, the words) is
escaped as Slack's formatting rules ask (``&``, ``<``, ``>`` as ``&amp;``,
``&lt;``, ``&gt;``) in every text object, the notification text and the
plain_text header too, so ``<!channel>`` or ``<https://…|label>`` is shown, not
acted on. Texts are cut to Slack's limits without splitting an escape."""

from __future__ import annotations

import json
import re
from typing import Any

from alerts.content import alert_context
from alerts.transports import AlertsTransport, alert_and_channel
from outbound.models import Delivery
from outbound.transports.base import TransportError, register
from outbound.transports.http import post_json

# An escape cut short at the end of a text ("&am", "&l").
_CUT_ESCAPE = re.compile(r"&[a-z]{0,3}$")


def _cut(text: str, limit: int) -> str:
    """At most ``limit`` characters of escaped ``text``, never half an escape."""
    if len(text) <= limit:
        return text
    return _CUT_ESCAPE.sub("", text[:limit])


def _plain(text: str, limit: int = 150) -> dict[str, Any]:
    return {"type": "plain_text", "text": _cut(text, limit) or " "}


def _mrkdwn(text: str, limit: int = 2000) -> dict[str, Any]:
    return {"type": "mrkdwn", "text": _cut(text, limit) or " "}


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
    title = _escape(context["title"])
    blocks: list[dict[str, Any]] = [
        {"type": "header", "text": _plain(title)},
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
    return {"text": _cut(title, 3000), "blocks": blocks}


@register
class SlackTransport(AlertsTransport):
    kind = "slack"

    def send(self, delivery: Delivery) -> int | None:
        alert, channel = alert_and_channel(delivery)
        if channel is None or alert is None:
            raise TransportError("A Slack alert needs a channel and an alert.", permanent=True)
        body = json.dumps(slack_payload(alert_context(alert))).encode()
        # Slack answers a 4xx for what stays wrong (invalid_payload, no_service,
        # channel_not_found): retrying cannot help.
        return post_json(channel.target, body, {}, client_errors_permanent=True)
