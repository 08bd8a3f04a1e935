"""What the hosted pages add for a host's frame and brand.

- Framing: a hosted page may be framed by the workspace's ``allowed_origins``
  and nothing else (CSP ``frame-ancestors``; ``'none'`` when the list is empty),
  and sends no ``X-Frame-Options``; every other page keeps ``DENY``. With the
  demo host page on, the demo workspace may also be framed by this service's own
  origin (``/demo/`` embeds the widget).
- The brand's accent colour reaches the page as its only inline style, allowed
  by its hash in ``style-src``.
- Inside a frame, ``static/js/embed.js`` tells the widget what happens: it
  answers the widget's hello only from an allowed origin, posts only to that
  origin, and on the done page posts the outcome (``outcome_message``).

The policy is built once per workspace configuration (``config_version``), so
a page pays no query and little time for it.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from functools import lru_cache
from typing import Any

from django.conf import settings
from django.template.loader import render_to_string
from django.urls import get_script_prefix, get_urlconf, reverse
from django.utils import translation
from django.utils.safestring import SafeString

from config.csp import DEFAULT_POLICY, policy
from config.lru import LRU
from surveys.models import CancelSession, Outcome, SessionStatus
from surveys.selectors import FlowState, ReasonView
from workspaces.brand import workspace_brand
from workspaces.config_cache import ConfigCache
from workspaces.models import Workspace

DEMO_WORKSPACE_SLUG = "demo"


@dataclass(frozen=True)
class HostedFrame:
    header: str  # the Content-Security-Policy of the workspace's hosted pages
    origins: tuple[str, ...]  # who may frame them (and hear from them)
    self_allowed: bool  # this service's own origin too (the demo host page)


def _frame_build(workspace: Workspace) -> HostedFrame:
    origins = tuple(workspace.allowed_origins or ())
    self_allowed = bool(settings.DEMO_HOST_PAGE) and workspace.slug == DEMO_WORKSPACE_SLUG
    ancestors = [*(["'self'"] if self_allowed else []), *origins] or ["'none'"]
    style = [*DEFAULT_POLICY["style-src"], workspace_brand(workspace).style_source]
    return HostedFrame(
        header=policy(frame_ancestors=ancestors, style_src=style),
        origins=origins,
        self_allowed=self_allowed,
    )


_frames: ConfigCache[HostedFrame] = ConfigCache(_frame_build, size=256)


def hosted_frame(workspace: Workspace) -> HostedFrame:
    return _frames.get(workspace)


def outcome_message(session: CancelSession) -> dict[str, Any] | None:
    """What the done page tells the host's page (``postMessage``), or None while
    the session is open: ``saved`` with the offer and the terms as accepted,
    ``kept`` (saved without taking an offer), or ``cancelled``."""
    if session.status != SessionStatus.COMPLETED:
        return None
    if session.outcome == Outcome.CANCELLED:
        return {"type": "cancelled", "session": str(session.pk)}
    if session.outcome == Outcome.SAVED and session.kept:
        return {"type": "kept", "session": str(session.pk)}
    offer = session.offer
    if session.outcome == Outcome.SAVED and offer is not None and session.accepted_terms:
        terms = {k: v for k, v in session.accepted_terms.items() if k != "kind"}
        return {
            "type": "saved",
            "session": str(session.pk),
            "offer": {"id": offer.pk, "kind": offer.kind, "name": offer.name},
            "terms": terms,
        }
    if session.outcome == Outcome.SAVED:
        return {"type": "kept", "session": str(session.pk)}
    return None


def hosted_context(session: CancelSession, *, done: bool = False) -> dict[str, Any]:
    """The template context every hosted page of ``session`` gets: the brand, and
    what the frame script needs (only when someone may frame the page)."""
    workspace = session.workspace
    frame = hosted_frame(workspace)
    embed = None
    if frame.origins or frame.self_allowed:
        embed = {
            "origins": list(frame.origins),
            "self": frame.self_allowed,
            "return_url": session.return_url,
            "outcome": outcome_message(session) if done else None,
        }
    return {"brand": workspace_brand(workspace), "embed": embed, "urls": flow_urls(session.token)}


# Stands for the token while the addresses are reversed once; tokens are URL-safe
# (``secrets.token_urlsafe``), so reversing a real one gives the same address.
_TOKEN_MARK = "0token0mark0"


@lru_cache(maxsize=16)
def _step_addresses(script_prefix: str, urlconf: str | None) -> dict[str, str]:
    """Every hosted step of surveys/urls.py (``flow-<step>``, taking the token)."""
    from surveys.urls import urlpatterns

    names = [p.name for p in urlpatterns if p.name and p.name.startswith("flow-")]
    return {name.removeprefix("flow-"): reverse(name, args=[_TOKEN_MARK]) for name in names}


def flow_urls(token: str) -> dict[str, str]:
    """A session's hosted step addresses (``urls.offer``…), as ``{% url
    'flow-offer' token %}`` gives them, without resolving a pattern per link per
    page: each is reversed once per script prefix and URLconf."""
    addresses = _step_addresses(get_script_prefix(), get_urlconf())
    return {step: address.replace(_TOKEN_MARK, token) for step, address in addresses.items()}


@lru_cache(maxsize=512)
def reason_choices(reasons: tuple[ReasonView, ...], checked: str) -> SafeString:
    """The survey page's radio buttons (``surveys/_reasons.html``), rendered once
    per list of reasons, their order and the one checked: keyed by what it shows,
    never stale. The fragment holds no translated string of its own (the labels
    come localised), so the active language does not enter the key."""
    return render_to_string("surveys/_reasons.html", {"reasons": reasons, "checked": checked})


# The survey page as every open, unanswered session of the same survey, locale,
# brand and frame sees it, with the token marked: the one page of the flow each
# customer loads first. Keyed by all that the page shows (the questions and
# reasons as localised, the brand and frame script as configured, the active
# language), so never stale; the token, the only per-session part, is put in
# by replacing the mark (tokens and the mark are URL-safe: nothing to escape).
_survey_pages: LRU[tuple[Any, ...], str] = LRU(512)

# What the first survey page's context holds (``surveys.views._page``): any other
# entry (an error, text typed, a status) is the session's own.
FIRST_SURVEY_PAGE_CONTEXT = frozenset(
    {"state", "session", "locale", "brand", "embed", "urls", "compliance", "step"}
)


def first_survey_page(
    template: str, state: FlowState, context: dict[str, Any], *, token: str
) -> str | None:
    """The survey page of a session not yet answered, rendered once per what it
    shows and reused (about a third of the page's cost); None when the page
    shows something of the session's own (an answer, an error, text typed),
    which the caller then renders itself."""
    if state.answer is not None or set(context) != FIRST_SURVEY_PAGE_CONTEXT:
        return None
    embed = context["embed"]
    key = (
        template,
        get_script_prefix(),
        get_urlconf(),
        translation.get_language(),
        context["locale"],
        state.question,
        tuple(state.reasons),
        context["compliance"],
        context["step"],
        context["brand"],
        json.dumps(embed, sort_keys=True, default=str) if embed is not None else None,
    )
    page = _survey_pages.get(key)
    if page is None:
        marked = {**context, "urls": flow_urls(_TOKEN_MARK), "session": None}
        page = render_to_string(template, marked)
        _survey_pages.put(key, page)
    return page.replace(_TOKEN_MARK, token)


def first_survey_pages_clear() -> None:
    _survey_pages.clear()
