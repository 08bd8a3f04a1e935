"""The customer's hosted pages under /c/{token}/: survey -> offer -> done.

Server-rendered, no JavaScript needed, nothing loaded from other hosts. The
token in the URL is an unguessable, expiring capability, so it also serves as the
CSRF defence: the pages set no cookie and work inside a host's frame or webview.
"""

from __future__ import annotations

import secrets
from datetime import timedelta
from typing import Any

from django.conf import settings
from django.http import Http404, HttpRequest, HttpResponse, HttpResponseRedirect
from django.shortcuts import render
from django.urls import reverse
from django.utils import timezone, translation
from django.utils.translation import gettext as _
from django.views.decorators.csrf import csrf_exempt
from django.views.decorators.http import require_GET, require_http_methods, require_POST

from config.errors import Conflict, Gone, Invalid, NotFound, ServiceError
from config.throttling import FlowTokenThrottle, page_throttle
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
        return render(
            request,
            "surveys/error.html",
            {
                "title": title,
                "body": body,
                "return_url": session.return_url if session is not None else "",
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
    return session, locale


def _flow_view(handler: Any) -> Any:
    """Turn service errors into friendly pages; a finished session goes to 'done',
    and a step posted from a stale tab after it ended says what had happened."""

    def wrapped(request: HttpRequest, token: str) -> HttpResponse:
        throttled = page_throttle(request, FlowTokenThrottle)  # POSTs, per token
        if throttled is not None:
            return throttled
        try:
            return handler(request, token)
        except Conflict:
            session = session_by_token(token=token)
            if session is not None and session.status == SessionStatus.COMPLETED:
                if request.method == "POST":
                    return _ended_page(request, session)
                return _to("flow-done", session)
            return _error_page(
                request, Conflict(_("This step is no longer available.")), session=session
            )
        except ServiceError as error:
            session = None if isinstance(error, NotFound) else session_by_token(token=token)
            return _error_page(request, error, session=session)

    wrapped.__name__ = handler.__name__
    wrapped.__doc__ = handler.__doc__
    return csrf_exempt(wrapped)


def _guard_open(session: CancelSession) -> None:
    """Only an open session with a live link shows its steps."""
    if session.status == SessionStatus.ABANDONED or session.token_expires_at <= timezone.now():
        raise Gone("expired")


def _page(
    request: HttpRequest, template: str, session: CancelSession, locale: str, **extra: Any
) -> HttpResponse:
    status = extra.pop("status", 200)
    state = flow_state(session=session, locale=locale)
    context = {"state": state, "session": session, "locale": locale, **extra}
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
    return {"compliance": session.workspace.compliance_mode}


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
    a stale tab after another outcome, lands where the session stands."""
    _load(request, token)
    session = session_keep(token=token)
    if session.return_url:
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


# --- Demo host: a pretend product with a cancel button --------------------------------

# Each language named in itself, as a customer looks for it.
DEMO_LANGUAGES = [
    ("en", "English", "en"),
    ("zh-hans", "简体中文", "zh-Hans"),
    ("de", "Deutsch", "de"),
]


@csrf_exempt
@require_http_methods(["GET", "POST"])
def demo_host(request: HttpRequest) -> HttpResponse:
    """A stand-in for the host product, so a newcomer can try the flow by hand."""
    if not settings.DEMO_HOST_PAGE:
        raise Http404
    from workspaces.models import Workspace

    workspace = Workspace.objects.filter(slug="demo").first()
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
    plan, mrr = {"starter": ("Starter", 1900), "team": ("Team", 9900)}.get(
        request.POST.get("plan", ""), ("Pro", 4900)
    )
    customer_id = "demo_" + secrets.token_hex(4)
    opened = session_open(
        workspace=workspace,
        customer=CustomerInput(id=customer_id, email=f"{customer_id}@example.com", name="Demo"),
        subscription=SubscriptionInput(
            id="sub_" + customer_id,
            plan=plan,
            mrr_cents=mrr,
            currency=workspace.currency,
            # A made-up paid period, so the pages show real dates.
            current_period_end=timezone.now() + timedelta(days=19),
        ),
        locale=request.POST.get("locale", ""),
        return_url=request.build_absolute_uri(reverse("demo-host")),
        source="demo",
    )
    return _to("flow-survey", opened.session)
