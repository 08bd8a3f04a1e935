"""The embeddable widget on a host's page from another origin (and site): the
modal opens the hosted flow in a frame, the host hears the outcome by
postMessage, the keyboard alone goes through it, and a frame that cannot load
becomes a full-page visit."""

from __future__ import annotations

import re
import time
from collections.abc import Iterator
from typing import Any

import pytest
from django.utils import timezone

from surveys.models import CancelSession, Outcome, SessionStatus
from tests.browser.host_site import HostSite, host_site
from tests.browser.test_csp import RECORD
from tests.factories import make_offer, make_session, make_workspace
from workspaces.identity import widget_identity_sign
from workspaces.services import workspace_update

pytestmark = pytest.mark.django_db(transaction=True)

DIALOG = "dialog.cf-dialog"


@pytest.fixture
def host(live_server: Any) -> Iterator[HostSite]:
    with host_site(live_server.url) as site:
        yield site


@pytest.fixture
def shop(host: HostSite) -> Any:
    workspace = make_workspace(name="Acme Cloud")
    workspace_update(workspace=workspace, allowed_origins=[host.origin])
    make_offer(workspace)
    return workspace


def _context(chromium: Any, live_server: Any, host: HostSite, **options: Any) -> Any:
    context = chromium.new_context(**options)
    context.add_init_script(RECORD)  # CSP violations, under the host's strict policy
    local = (live_server.url, host.origin)
    context.route(
        "**/*",
        lambda route: route.continue_() if route.request.url.startswith(local) else route.abort(),
    )
    return context


@pytest.fixture
def desktop(chromium: Any, live_server: Any, host: HostSite) -> Iterator[Any]:
    context = _context(chromium, live_server, host, viewport={"width": 1280, "height": 900})
    page = context.new_page()
    page.errors = []
    page.on("pageerror", lambda error: page.errors.append(str(error)))
    yield page
    context.close()


def _open(page: Any, host: HostSite, options: dict[str, Any]) -> Any:
    """Load the host page, click its cancel button with ``options``; the flow's frame."""
    page.goto(host.url)
    page.wait_for_function("() => !!window.Cancelflow")
    page.evaluate("(options) => { window.openOptions = options; }", options)
    page.click("#cancel")
    page.wait_for_function(
        "() => window.received.some((m) => m.data.type === 'ready')", timeout=10000
    )
    return next(frame for frame in page.frames if "/c/" in frame.url)


def _sized(page: Any, frame: Any, timeout: float = 10.0) -> None:
    """Wait until the host has sized the frame to the page it shows: each page
    posts its height once loaded and the frame (and the modal around it) then
    changes size, so a click aimed before that could land beside its button."""
    deadline = time.monotonic() + timeout
    while True:
        content = frame.evaluate("() => Math.ceil(document.body.getBoundingClientRect().height)")
        box = page.locator("iframe.cf-frame").bounding_box()
        if box is not None and abs(box["height"] - content) <= 1:
            return
        assert time.monotonic() < deadline, f"the frame stays {box} for a page of {content}px"
        page.wait_for_timeout(50)


def _messages(page: Any) -> list[dict[str, Any]]:
    return list(page.evaluate("() => window.received"))


def _signed(workspace: Any, **body: Any) -> dict[str, str]:
    session = {
        "customer": {"id": "cus_widget", "email": "ada@example.com", "name": "Ada"},
        "subscription": {"id": "sub_widget", "plan": "Pro", "mrr_cents": 4900},
        "locale": "en",
        **body,
    }
    return widget_identity_sign(
        workspace=workspace.public_id, secret=workspace.identity_secret, body=session
    )


def test_a_signed_customer_saves_in_the_modal_and_the_host_hears_it(
    live_server, host, shop, desktop
) -> None:
    page = desktop
    cookies: list[str] = []
    page.on(
        "response",
        lambda r: (
            cookies.append(r.url)
            if r.url.startswith(live_server.url) and "set-cookie" in r.headers
            else None
        ),
    )
    frame = _open(page, host, {"signed": _signed(shop, return_url=f"{host.origin}/account")})

    dialog = page.locator(DIALOG)
    assert dialog.get_attribute("role") == "dialog"
    assert dialog.get_attribute("aria-modal") == "true"
    assert page.evaluate("() => getComputedStyle(document.documentElement).overflow") == "hidden"
    assert frame.locator(".brand-name").inner_text() == "Acme Cloud"
    assert frame.locator(".step").inner_text() == "Step 1 of 2"
    # The frame is sized to its content, not left at a fixed height.
    first_height = page.locator("iframe.cf-frame").bounding_box()["height"]
    frame.get_by_label("It's too expensive").check()
    frame.get_by_role("button", name="Continue").click()
    frame.wait_for_url("**/offer/")
    assert frame.locator(".step").inner_text() == "Step 2 of 2"
    _sized(page, frame)
    frame.get_by_role("button", name="Accept the discount").click()
    frame.wait_for_url("**/done/")
    page.wait_for_function("() => window.calls.some((c) => c[0] === 'saved')")

    calls = page.evaluate("() => window.calls")
    assert calls[0][0] == "saved"
    offer, terms = calls[0][1], calls[0][2]
    assert offer["name"] == "30% off for 3 months" and offer["kind"] == "discount_percent"
    assert terms["percent"] == 30 and terms["months"] == 3
    messages = _messages(page)
    assert {m["origin"] for m in messages} == {live_server.url}
    types = [m["data"]["type"] for m in messages]
    assert "ready" in types and types.count("saved") == 1
    # Each page's height reaches the host, which sizes the frame to it.
    content = frame.evaluate("() => Math.ceil(document.body.getBoundingClientRect().height)")
    assert abs(page.locator("iframe.cf-frame").bounding_box()["height"] - content) <= 1
    assert content != first_height
    session = CancelSession.objects.get(customer_id="cus_widget")
    assert (session.source, session.outcome) == ("widget", Outcome.SAVED)
    assert next(m["data"] for m in messages if m["data"]["type"] == "saved")["session"] == str(
        session.pk
    )

    # "Back to your account" inside the modal closes it instead of loading the
    # host's page in the frame.
    frame.get_by_role("link", name="Back to your account").click()
    page.wait_for_function("() => window.calls.some((c) => c[0] === 'close')")
    assert page.locator(DIALOG).count() == 0
    assert page.evaluate("() => getComputedStyle(document.documentElement).overflow") != "hidden"
    assert page.evaluate("() => document.activeElement.id") == "cancel"
    assert cookies == []  # nothing in the flow depends on a cookie
    assert page.errors == []
    assert page.evaluate("window.cspViolations") == []


def test_a_customer_cancels_on_a_phone_in_a_full_screen_modal(
    live_server, host, shop, chromium
) -> None:
    context = _context(
        chromium, live_server, host, viewport={"width": 390, "height": 844}, is_mobile=True
    )
    page = context.new_page()
    session = make_session(shop, locale="en")
    frame = _open(page, host, {"token": session.token})
    box = page.locator(DIALOG).bounding_box()
    assert (box["x"], box["y"], box["width"], box["height"]) == (0, 0, 390, 844)
    frame.get_by_role("button", name="Cancel my subscription").click()
    frame.wait_for_url("**/done/")
    page.wait_for_function("() => window.calls.some((c) => c[0] === 'cancelled')")
    assert [m["data"]["type"] for m in _messages(page)].count("cancelled") == 1
    session.refresh_from_db()
    assert session.outcome == Outcome.CANCELLED
    context.close()


def test_a_session_kept_without_an_offer_is_announced_as_kept(live_server, host, shop, desktop):
    """The done page announces any final state: saved without an offer is "kept"."""
    session = make_session(shop, locale="en")
    CancelSession.objects.filter(pk=session.pk).update(
        status=SessionStatus.COMPLETED,
        outcome=Outcome.SAVED,
        kept=True,
        completed_at=timezone.now(),
    )
    _open(desktop, host, {"url": f"{live_server.url}/c/{session.token}/"})
    desktop.wait_for_function("() => window.calls.some((c) => c[0] === 'kept')")
    assert [c[0] for c in desktop.evaluate("() => window.calls")] == ["kept"]
    kept = [m["data"] for m in _messages(desktop) if m["data"]["type"] == "kept"]
    assert kept == [{"source": "cancelflow", "type": "kept", "session": str(session.pk)}]


def test_a_customer_keeps_the_subscription_in_the_modal(live_server, host, shop, desktop) -> None:
    session = make_session(shop, locale="en", return_url=f"{host.origin}/account")
    frame = _open(desktop, host, {"token": session.token})
    frame.get_by_role("button", name="Keep my subscription").click()
    desktop.wait_for_function("() => window.calls.some((c) => c[0] === 'kept')")
    assert [m["data"]["type"] for m in _messages(desktop)].count("kept") == 1
    session.refresh_from_db()
    assert (session.outcome, session.kept) == (Outcome.SAVED, True)


def _focus_in_dialog(page: Any) -> bool:
    return bool(
        page.evaluate("(s) => document.querySelector(s).contains(document.activeElement)", DIALOG)
    )


def _tab_to(page: Any, frame: Any, selector: str, *, limit: int = 12) -> None:
    """Press Tab until the frame's focused element matches ``selector``; focus
    never leaves the dialog on the way."""
    for _ in range(limit):
        page.keyboard.press("Tab")
        assert _focus_in_dialog(page), "focus left the modal"
        if frame.evaluate(
            "(s) => document.hasFocus() && !!document.activeElement"
            " && document.activeElement.matches(s)",
            selector,
        ):
            return
    raise AssertionError(f"{selector} not reached with Tab")


def test_the_keyboard_alone_goes_through_the_modal(live_server, host, shop, desktop) -> None:
    page = desktop
    session = make_session(shop, locale="en")
    page.goto(host.url)
    page.wait_for_function("() => !!window.Cancelflow")
    page.evaluate("(token) => { window.openOptions = {token}; }", session.token)
    for _ in range(5):
        page.keyboard.press("Tab")
        if page.evaluate("() => document.activeElement.id") == "cancel":
            break
    page.keyboard.press("Enter")
    page.wait_for_function("() => window.received.some((m) => m.data.type === 'ready')")
    frame = next(f for f in page.frames if "/c/" in f.url)
    # Focus moved into the flow (its main region), inside the modal.
    assert _focus_in_dialog(page)
    frame.wait_for_function("() => document.activeElement.id === 'main'")

    _tab_to(page, frame, "input[name=reason]")
    page.keyboard.press("Space")
    _tab_to(page, frame, "button[value=continue]")
    page.keyboard.press("Enter")
    frame.wait_for_url("**/offer/")
    _tab_to(page, frame, "form[action$='/cancel/'] button")
    page.keyboard.press("Enter")
    frame.wait_for_url("**/done/")
    page.wait_for_function("() => window.calls.some((c) => c[0] === 'cancelled')")

    # Tab cycles inside the modal: through the page, the close button and back.
    for _ in range(8):
        page.keyboard.press("Tab")
        assert _focus_in_dialog(page), "focus left the modal"
    for _ in range(3):
        page.keyboard.press("Shift+Tab")
        assert _focus_in_dialog(page), "focus left the modal"

    # Esc closes it, from inside the frame too, and focus is back on the trigger.
    frame.locator("h1").click()
    page.keyboard.press("Escape")
    page.wait_for_function("() => window.calls.some((c) => c[0] === 'close')")
    assert page.locator(DIALOG).count() == 0
    assert page.evaluate("() => document.activeElement.id") == "cancel"
    session.refresh_from_db()
    assert session.outcome == Outcome.CANCELLED


def test_a_frame_that_cannot_load_becomes_a_full_page_visit(live_server, host, desktop) -> None:
    workspace = make_workspace()  # no allowed origins: nobody may frame its pages
    session = make_session(workspace, locale="en")
    page = desktop
    page.goto(host.url)
    page.wait_for_function("() => !!window.Cancelflow")
    page.evaluate("(token) => { window.openOptions = {token, loadTimeout: 800}; }", session.token)
    page.click("#cancel")
    page.wait_for_url(re.compile(re.escape(f"{live_server.url}/c/{session.token}/")))
    assert page.locator("h1").inner_text() == "Why are you cancelling?"


def test_the_demo_host_page_opens_the_widget(live_server, chromium, settings) -> None:
    """/demo/ on the service itself, under the service's own strict CSP: its
    server signs the identity and the page opens the modal."""
    settings.DEMO_HOST_PAGE = True
    workspace = make_workspace(name="Demo Cloud", slug="demo")
    make_offer(workspace)
    context = chromium.new_context(viewport={"width": 1280, "height": 900})
    context.add_init_script(RECORD)
    page = context.new_page()
    errors: list[str] = []
    page.on("pageerror", lambda error: errors.append(str(error)))
    page.goto(f"{live_server.url}/demo/")
    page.get_by_role("button", name="Cancel subscription").click()
    frame_element = page.locator("dialog.cf-dialog iframe")
    frame_element.wait_for()
    frame = page.frame_locator("dialog.cf-dialog iframe")
    frame.get_by_role("button", name="Cancel my subscription").click()
    page.wait_for_function(
        "() => document.getElementById('demo-outcome').textContent.includes('cancelled')"
    )
    session = CancelSession.objects.get(workspace=workspace)
    assert (session.source, session.outcome) == ("widget", Outcome.CANCELLED)
    assert errors == []
    assert page.evaluate("window.cspViolations") == []  # its styles need no 'unsafe-inline'
    context.close()
