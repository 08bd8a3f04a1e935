"""The customer's hosted pages under /c/{token}/: survey -> offer -> done.

Server-rendered, no JavaScript needed, nothing loaded from other hosts. The
token in the URL is an unguessable, expiring capability, so it also serves as the
CSRF defence: the pages set no cookie and work inside a host's frame or webview.

Why that is enough without Django's CSRF cookie (which a browser blocks, or
sends only SameSite=Lax, inside a cross-site frame): a forged POST has to name
the session's token in its URL, and whoever knows the token already holds the
capability the form exercises. A per-session form token would not add to that:
with no cookie to bind it to, it would be readable by anyone holding the URL,
as the token is. The link expires, POSTs are throttled per token, Referrer-Policy
keeps the URL from leaking to other origins, and clickjacking is stopped by
``frame-ancestors`` (surveys.hosted): only the workspace's allowed origins may
frame the pages.
"""

from __future__ import annotations

import gzip
import secrets
from datetime import datetime, timedelta
from functools import lru_cache
from hashlib import sha256
from pathlib import Path
from typing import Any

from django.conf import settings
from django.contrib.staticfiles import finders
from django.http import Http404, HttpRequest, HttpResponse, HttpResponseRedirect, JsonResponse
from django.shortcuts import render
from django.urls import reverse
from django.utils import timezone, translation
from django.utils.cache import patch_cache_control
from django.utils.translation import gettext as _
from django.views.decorators.csrf import csrf_exempt
from django.views.decorators.http import (
    require_GET,
    require_http_methods,
    require_POST,
    require_safe,
)

from config.csp import HEADER as CSP_HEADER
from config.errors import Conflict, Gone, Invalid, NotFound, ServiceError
from config.throttling import FlowTokenThrottle, page_throttle
from surveys.hosted import DEMO_WORKSPACE_SLUG, first_survey_page, hosted_context, hosted_frame
from surveys.locales import locale_from_accept_language
from surveys.models import CancelSession, Outcome, SessionStatus
from surveys.presenters import accepted_text
from surveys.selectors import flow_state, session_by_token, session_locale
from surveys.services import (
    CustomerInput,
    SubscriptionInput,
    session_accept,
    session_answer,
    session_cancel,
    session_keep,
    session_open,
    session_set_locale,
)
from workspaces.identity import widget_identity_sign


def _to(name: str, session: CancelSession) -> HttpResponseRedirect:
    return HttpResponseRedirect(reverse(name, args=[session.token]))


def _error_page(
    request: HttpRequest,
    error: ServiceError,
    locale: str | None = None,
    session: CancelSession | None = None,
) -> HttpResponse:
    """A friendly page for a link that is unknown, expired or a step no longer
    open; with the session known, a way back to the customer's account."""
    with translation.override(locale or translation.get_language() or "en"):
        if isinstance(error, NotFound):
            title, body = (
                _("This link is not valid"),
                _("Please go back to your account and click cancel again."),
            )
        elif isinstance(error, Gone):
            title, body = (
                _("This link has expired"),
                _(
                    "For your security, cancel links work for a limited time. "
                    "Please go back to your account and click cancel again."
                ),
            )
        else:
            title, body = _("Something is not right"), error.message
        session = getattr(request, "hosted_session", None)
        extra = hosted_context(session) if session is not None else {}
        return render(
            request,
            "surveys/error.html",
            {
                "title": title,
                "body": body,
                "return_url": session.return_url if session is not None else "",
                **extra,
            },
            status=error.status_code,
        )


def _load(request: HttpRequest, token: str) -> tuple[CancelSession, str]:
    session = session_by_token(token=token)
    if session is None:
        raise NotFound("unknown token")
    locale = session_locale(session, request.headers.get("Accept-Language"))
    translation.activate(locale)
    request.LANGUAGE_CODE = locale
    request.hosted_session = session  # type: ignore[attr-defined]
    return session, locale


def _flow_view(handler: Any) -> Any:
    """Turn service errors into friendly pages; a finished session goes to 'done',
    and a step posted from a stale tab after it ended says what had happened."""

    def wrapped(request: HttpRequest, token: str) -> HttpResponse:
        throttled = page_throttle(request, FlowTokenThrottle)  # POSTs, per token
        if throttled is not None:
            return throttled
        try:
            response = handler(request, token)
        except Conflict:
            session = session_by_token(token=token)
            if session is not None and session.status == SessionStatus.COMPLETED:
                if request.method == "POST":
                    response = _ended_page(request, session)
                else:
                    response = _to("flow-done", session)
            else:
                response = _error_page(
                    request, Conflict(_("This step is no longer available.")), session=session
                )
        except ServiceError as error:
            session = None if isinstance(error, NotFound) else session_by_token(token=token)
            response = _error_page(request, error, session=session)
        return _framed(request, response)

    wrapped.__name__ = handler.__name__
    wrapped.__doc__ = handler.__doc__
    return csrf_exempt(wrapped)


def _framed(request: HttpRequest, response: HttpResponse) -> HttpResponse:
    """A page of a known session may be framed by its workspace's allowed origins
    (CSP frame-ancestors, no X-Frame-Options); an unknown token's page by nobody."""
    session = getattr(request, "hosted_session", None)
    if session is not None:  # its redirects too: a step inside the frame is one
        response[CSP_HEADER] = hosted_frame(session.workspace).header
        response.xframe_options_exempt = True
    return response


def _guard_open(session: CancelSession) -> None:
    """Only an open session with a live link shows its steps."""
    if session.status == SessionStatus.ABANDONED or session.token_expires_at <= timezone.now():
        raise Gone("expired")


def _page(
    request: HttpRequest,
    template: str,
    session: CancelSession,
    locale: str,
    *,
    reuse: bool = False,
    **extra: Any,
) -> HttpResponse:
    """A hosted page of ``session``; ``reuse``: the survey page may come from
    the pages already rendered for other sessions (``first_survey_page``)."""
    status = extra.pop("status", 200)
    state = flow_state(session=session, locale=locale)
    done = template == "surveys/done.html"
    context = {
        "state": state,
        "session": session,
        "locale": locale,
        **hosted_context(session, done=done),
        **extra,
    }
    shared = first_survey_page(template, state, context, token=session.token) if reuse else None
    if shared is not None:
        response = HttpResponse(shared, status=status)
    else:
        response = render(request, template, context, status=status)
    response["Cache-Control"] = "no-store"
    response["Content-Language"] = locale
    return response


@_flow_view
@require_http_methods(["GET", "POST"])
def survey_page(request: HttpRequest, token: str) -> HttpResponse:
    """Step 1: why are you leaving? (and a one-click cancel)."""
    session, locale = _load(request, token)
    if session.status == SessionStatus.COMPLETED:
        if request.method == "POST":
            return _done(request, session, locale, stale=True)
        return _to("flow-done", session)
    if request.method == "GET":
        editing = request.GET.get("edit") == "1"
        if session.status in (SessionStatus.ANSWERED, SessionStatus.OFFERED) and not editing:
            return _to("flow-offer", session)
        _guard_open(session)
        return _page(
            request,
            "surveys/survey.html",
            session,
            locale,
            compliance=session.workspace.compliance_mode,
            step=1,
            reuse=True,
        )

    reason = request.POST.get("reason", "").strip()
    text = request.POST.get("text", "")
    wants_cancel = request.POST.get("action") == "cancel"
    error = ""
    if reason:
        try:
            session = session_answer(token=token, reason_code=reason, text=text)
        except Invalid as exc:
            error = _("Please check your answer: %(problem)s") % {"problem": exc.message}
            if exc.code == "text_too_long":
                error = _("Your message is too long; please shorten it.")
            elif exc.code == "unknown_reason":
                error = _("Please choose one of the reasons below.")
    elif not wants_cancel:
        error = _("Please choose a reason, or cancel directly with the button below.")
    if error:
        return _page(
            request,
            "surveys/survey.html",
            session,
            locale,
            error=error,
            text=text,
            status=422,
            compliance=session.workspace.compliance_mode,
            step=1,
        )
    if wants_cancel:
        session_cancel(token=token)
        return _to("flow-done", session)
    return _to("flow-offer", session)


@_flow_view
@require_GET
def offer_page(request: HttpRequest, token: str) -> HttpResponse:
    """Step 2: one offer that fits the answer, or a plain confirmation. In the
    workspace's compliance mode this is the cancellation page the entry button
    leads to, answered or not: cancelling comes first, the offer is optional."""
    session, locale = _load(request, token)
    if session.status == SessionStatus.COMPLETED:
        return _to("flow-done", session)
    if session.status == SessionStatus.STARTED and not session.workspace.compliance_mode:
        return _to("flow-survey", session)
    _guard_open(session)
    return _page(request, "surveys/offer.html", session, locale, **_offer_context(session))


def _offer_context(session: CancelSession) -> dict[str, Any]:
    return {"compliance": session.workspace.compliance_mode, "step": 2}


@_flow_view
@require_POST
def accept_action(request: HttpRequest, token: str) -> HttpResponse:
    """Take the offer shown; a pause also posts the months the customer picked."""
    session, locale = _load(request, token)
    try:
        offer_id = int(request.POST.get("offer", ""))
    except ValueError:
        raise Invalid(_("No offer was chosen.")) from None
    raw_months = request.POST.get("months", "").strip()
    try:
        months = int(raw_months) if raw_months else None
    except ValueError:
        months = -1  # refused below with the offer's bounds
    try:
        session = session_accept(token=token, offer_id=offer_id, months=months)
    except Invalid as exc:
        if exc.code not in ("months_required", "months_out_of_range", "months_not_applicable"):
            raise
        _guard_open(session)
        return _page(
            request,
            "surveys/offer.html",
            session,
            locale,
            error=_("Please choose how many months to pause."),
            status=422,
            **_offer_context(session),
        )
    return _to("flow-done", session)


@_flow_view
@require_POST
def cancel_action(request: HttpRequest, token: str) -> HttpResponse:
    session, _locale = _load(request, token)
    session = session_cancel(token=token)
    return _to("flow-done", session)


@_flow_view
@require_POST
def keep_action(request: HttpRequest, token: str) -> HttpResponse:
    """ "Keep my subscription": the session ends saved, without an offer. Then back
    to the host's ``return_url`` (checked against the workspace's allowed origins
    when the session opened), or to a page saying they are staying. A repeat, or
    a stale tab after another outcome, lands where the session stands. Inside
    the widget's frame (``framed``, set by static/js/embed.js) it ends on the done
    page, which tells the host's page "kept"."""
    _load(request, token)
    session = session_keep(token=token)
    if session.return_url and request.POST.get("framed") != "1":
        return HttpResponseRedirect(session.return_url)
    return _to("flow-done", session)


@_flow_view
@require_POST
def language_action(request: HttpRequest, token: str) -> HttpResponse:
    session = session_set_locale(token=token, locale=request.POST.get("language", ""))
    back = request.POST.get("next", "")
    if back not in ("flow-survey", "flow-offer", "flow-done"):
        back = "flow-survey"
    return _to(back, session)


@_flow_view
@require_GET
def done_page(request: HttpRequest, token: str) -> HttpResponse:
    """Step 3: what happened, what happens now, and when."""
    session, locale = _load(request, token)
    if session.status != SessionStatus.COMPLETED:
        return _to("flow-survey", session)
    return _done(request, session, locale)


def _done(
    request: HttpRequest, session: CancelSession, locale: str, *, stale: bool = False
) -> HttpResponse:
    accepted_terms = session.accepted_terms or {}
    return _page(
        request,
        "surveys/done.html",
        session,
        locale,
        saved=session.outcome == Outcome.SAVED,
        kept=session.kept,
        accepted_kind=""
        if session.kept
        else accepted_terms.get("kind")
        or (session.offer.kind if session.offer is not None else ""),
        accepted=accepted_text(accepted_terms, locale=locale, currency=session.currency),
        compliance=session.workspace.compliance_mode,
        stale=stale,
        # Nothing was done with the stale request: 409, with the outcome as it is.
        status=409 if stale else 200,
    )


def _ended_page(request: HttpRequest, session: CancelSession) -> HttpResponse:
    """A step posted after the session ended (a stale tab): the outcome as it
    stands and, when the customer was saved, how to still cancel."""
    locale = session_locale(session, request.headers.get("Accept-Language"))
    translation.activate(locale)
    request.LANGUAGE_CODE = locale
    return _done(request, session, locale, stale=True)


# --- The embeddable widget -------------------------------------------------------------

WIDGET_SCRIPT = "widget/v1.js"
# A stable URL hosts embed: browsers check it again after an hour (a fixed
# script reaches every host within that), cheaply, with its ETag.
WIDGET_MAX_AGE = 3600


@lru_cache(maxsize=1)
def _widget_script() -> tuple[bytes, bytes, str]:
    """The script, gzipped (fixed mtime, so the same bytes every time), and its ETag."""
    path = finders.find(WIDGET_SCRIPT)
    if not path:
        raise Http404("widget script missing")
    raw = Path(str(path)).read_bytes()
    return raw, gzip.compress(raw, compresslevel=9, mtime=0), f'"{sha256(raw).hexdigest()[:32]}"'


def _accepts_gzip(request: HttpRequest) -> bool:
    for part in request.headers.get("Accept-Encoding", "").split(","):
        name, _sep, params = part.strip().partition(";")
        if name.strip().lower() in ("gzip", "*"):
            return params.replace(" ", "") not in ("q=0", "q=0.0", "q=0.00", "q=0.000")
    return False


@require_safe
def widget_script(request: HttpRequest) -> HttpResponse:
    """``/widget/v1.js``: the script hosts embed (static/widget/v1.js), gzipped
    when the browser accepts it."""
    raw, packed, etag = _widget_script()
    if request.headers.get("If-None-Match") == etag:
        response = HttpResponse(status=304)
    elif _accepts_gzip(request):
        response = HttpResponse(packed, content_type="text/javascript; charset=utf-8")
        response["Content-Encoding"] = "gzip"
    else:
        response = HttpResponse(raw, content_type="text/javascript; charset=utf-8")
    response["ETag"] = etag
    response["Vary"] = "Accept-Encoding"
    response["Cross-Origin-Resource-Policy"] = "cross-origin"
    patch_cache_control(response, public=True, max_age=WIDGET_MAX_AGE)
    return response


# --- Demo host: a pretend product with a cancel button --------------------------------

# Each language named in itself, as a customer looks for it.
DEMO_LANGUAGES = [
    ("en", "English", "en"),
    ("zh-hans", "简体中文", "zh-Hans"),
    ("de", "Deutsch", "de"),
]


def _demo_workspace() -> Any:
    if not settings.DEMO_HOST_PAGE:
        raise Http404
    from workspaces.models import Workspace

    return Workspace.objects.filter(slug=DEMO_WORKSPACE_SLUG).first()


def _demo_customer(request: HttpRequest, workspace: Any) -> dict[str, Any]:
    """A made-up customer of the demo, as the POST /api/v1/sessions body."""
    plan, mrr = {"starter": ("Starter", 1900), "team": ("Team", 9900)}.get(
        request.POST.get("plan", ""), ("Pro", 4900)
    )
    customer_id = "demo_" + secrets.token_hex(4)
    body: dict[str, Any] = {
        "customer": {"id": customer_id, "email": f"{customer_id}@example.com", "name": "Demo"},
        "subscription": {
            "id": "sub_" + customer_id,
            "plan": plan,
            "mrr_cents": mrr,
            "currency": workspace.currency,
            # A made-up paid period, so the pages show real dates.
            "current_period_end": (timezone.now() + timedelta(days=19)).isoformat(),
        },
        "return_url": request.build_absolute_uri(reverse("demo-host")),
    }
    if request.POST.get("locale"):
        body["locale"] = request.POST["locale"]
    return body


@csrf_exempt
@require_http_methods(["GET", "POST"])
def demo_host(request: HttpRequest) -> HttpResponse:
    """A stand-in for the host product, so a newcomer can try the flow by hand:
    with JavaScript the cancel button opens the widget (signed by
    ``demo_identity``, as a host's server would), without it the form opens a
    session and goes to the hosted page."""
    workspace = _demo_workspace()
    if workspace is None:
        return render(request, "surveys/demo_host.html", {"missing": True}, status=404)
    if request.method == "GET":
        # The language the browser asks for is the one picked (the customer can change it).
        chosen = locale_from_accept_language(request.headers.get("Accept-Language")) or "en"
        return render(
            request,
            "surveys/demo_host.html",
            {"workspace": workspace, "chosen_locale": chosen, "languages": DEMO_LANGUAGES},
        )
    body = _demo_customer(request, workspace)
    subscription = dict(body["subscription"])
    subscription["current_period_end"] = datetime.fromisoformat(subscription["current_period_end"])
    opened = session_open(
        workspace=workspace,
        customer=CustomerInput(**body["customer"]),
        subscription=SubscriptionInput(**subscription),
        locale=body.get("locale", ""),
        return_url=body["return_url"],
        source="demo",
    )
    return _to("flow-survey", opened.session)


@csrf_exempt
@require_POST
def demo_identity(request: HttpRequest) -> JsonResponse:
    """What the host's server does for the widget: sign a session body with the
    workspace's identity secret (workspaces.identity), for the demo's customer."""
    workspace = _demo_workspace()
    if workspace is None:
        raise Http404
    return JsonResponse(
        widget_identity_sign(
            workspace=workspace.public_id,
            secret=workspace.identity_secret,
            body=_demo_customer(request, workspace),
        )
    )
