"""Throttles: each door refuses the attempt after its limit with 429 and Retry-After,
leaves other keys, IPs and tokens alone, and opens again when the window ends."""

from __future__ import annotations

import time
from io import StringIO
from typing import Any

import pytest
from django.core.exceptions import ImproperlyConfigured
from django.core.management import call_command
from django.test import Client
from rest_framework.test import APIClient

from config.env import env_rate
from config.throttling import RateThrottle, login_failures
from tests.factories import UserFactory, make_api_key, make_session, make_workspace

PASSWORD = "pw-for-tests-1"


class Clock:
    """The rate throttles' clock, moved by hand (the windows are sliding logs of times)."""

    def __init__(self) -> None:
        self.now = 1_800_000_000.0

    def __call__(self) -> float:
        return self.now


@pytest.fixture(autouse=True)
def _fast_passwords(settings: Any) -> None:
    """Hundreds of sign-ins: a cheap hasher keeps the windows below in reach."""
    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]


@pytest.fixture
def clock(monkeypatch: pytest.MonkeyPatch) -> Clock:
    clock = Clock()
    monkeypatch.setattr(RateThrottle, "timer", staticmethod(clock))
    return clock


def rates(settings: Any, **changes: tuple[int, int]) -> None:
    settings.THROTTLE_RATES = {**settings.THROTTLE_RATES, **changes}


def assert_json_429(response: Any) -> None:
    assert response.status_code == 429
    assert int(response["Retry-After"]) >= 1
    body = response.json()
    assert body["error"]["code"] == "throttled"
    assert body["error"]["message"]


def assert_html_429(response: Any) -> str:
    assert response.status_code == 429
    assert int(response["Retry-After"]) >= 1
    assert response["Content-Type"].startswith("text/html")
    return response.content.decode()


# --- Sign-in: per username and per IP ------------------------------------------------


def sign_in(client: Client, path: str, username: str, password: str, ip: str = "10.0.0.1") -> Any:
    return client.post(path, {"username": username, "password": password}, REMOTE_ADDR=ip)


def is_signed_in(client: Client) -> bool:
    return "_auth_user_id" in client.session


@pytest.mark.parametrize("path", ["/accounts/login/", "/admin/login/"])
def test_login_locks_a_username_after_ten_failures_even_for_the_right_password(
    db: None, path: str
) -> None:
    user = UserFactory(is_superuser=True, is_staff=True)
    client = Client()
    for attempt in range(10):
        # The tenth failure is still answered as a wrong password: the form again.
        response = sign_in(client, path, user.username, "wrong", ip=f"10.0.1.{attempt}")
        assert response.status_code == 200
    refused = sign_in(client, path, user.username, PASSWORD, ip="10.0.2.1")
    page = assert_html_429(refused)
    assert 850 <= int(refused["Retry-After"]) <= 900
    assert "Too many attempts" in page and "15 minutes" in page
    assert not is_signed_in(client)

    # Another username from the same IPs signs in.
    other = UserFactory(is_superuser=True, is_staff=True)
    response = sign_in(Client(), path, other.username, PASSWORD, ip="10.0.1.1")
    assert response.status_code == 302


def test_login_locks_an_ip_after_ten_failures_over_any_usernames(db: None) -> None:
    user = UserFactory()
    client = Client()
    for attempt in range(10):
        assert sign_in(client, "/accounts/login/", f"guess{attempt}", "wrong").status_code == 200
    assert_html_429(sign_in(client, "/accounts/login/", user.username, PASSWORD))
    assert_html_429(sign_in(client, "/admin/login/", user.username, PASSWORD))
    assert not is_signed_in(client)
    # The same account from another IP is fine.
    assert (
        sign_in(Client(), "/accounts/login/", user.username, PASSWORD, ip="10.9.9.9").status_code
        == 302
    )


def test_right_passwords_do_not_count_and_the_page_is_translated(db: None) -> None:
    user = UserFactory()
    for _ in range(12):
        assert sign_in(Client(), "/accounts/login/", user.username, PASSWORD).status_code == 302
    client = Client(HTTP_ACCEPT_LANGUAGE="zh-hans")
    for _ in range(10):
        sign_in(client, "/accounts/login/", user.username, "wrong")
    page = assert_html_429(sign_in(client, "/accounts/login/", user.username, PASSWORD))
    assert "尝试次数过多" in page


def test_login_lock_ends_with_the_window(db: None, settings: Any) -> None:
    settings.THROTTLE_LOGIN_FAILURES = 2
    settings.THROTTLE_LOGIN_WINDOW_SECONDS = 2
    user = UserFactory()
    client = Client()
    sign_in(client, "/accounts/login/", user.username, "wrong")
    sign_in(client, "/accounts/login/", user.username, "wrong")
    assert_html_429(sign_in(client, "/accounts/login/", user.username, PASSWORD))
    time.sleep(2.1)
    assert sign_in(client, "/accounts/login/", user.username, PASSWORD).status_code == 302


def test_parallel_attempts_get_no_more_password_checks_than_the_limit(db: None) -> None:
    # Attempts are counted before the password is checked: ten in flight at once
    # use the budget, the eleventh is refused before it is checked.
    idents = ["user:someone"]
    for _ in range(10):
        assert login_failures.reserve(idents) is None
    assert login_failures.reserve(idents) == pytest.approx(900, abs=1)


def test_throttle_switch_turns_it_off(db: None, settings: Any) -> None:
    settings.THROTTLE_ENABLED = False
    user = UserFactory()
    client = Client()
    for _ in range(15):
        sign_in(client, "/accounts/login/", user.username, "wrong")
    assert sign_in(client, "/accounts/login/", user.username, PASSWORD).status_code == 302


# --- API keys: failures per IP -----------------------------------------------------------


def test_wrong_api_keys_lock_the_ip_for_any_key(workspace: Any, settings: Any) -> None:
    settings.THROTTLE_API_KEY_FAILURES = 20
    good = make_api_key(workspace)
    client = APIClient(REMOTE_ADDR="10.0.3.1")
    for attempt in range(20):
        client.credentials(HTTP_AUTHORIZATION=f"Bearer wrong-{attempt}")
        assert client.get("/api/v1/sessions").status_code == 401
    client.credentials(HTTP_AUTHORIZATION=f"Bearer {good}")
    refused = client.get("/api/v1/sessions")
    assert_json_429(refused)
    assert 850 <= int(refused["Retry-After"]) <= 900

    other_ip = APIClient(REMOTE_ADDR="10.0.3.2")
    other_ip.credentials(HTTP_AUTHORIZATION=f"Bearer {good}")
    assert other_ip.get("/api/v1/sessions").status_code == 200


def test_forwarded_for_is_ignored_unless_a_proxy_is_trusted(workspace: Any, settings: Any) -> None:
    settings.THROTTLE_API_KEY_FAILURES = 2
    client = APIClient(REMOTE_ADDR="10.0.4.1")
    client.credentials(HTTP_AUTHORIZATION="Bearer wrong")
    for n in range(2):
        assert client.get("/api/v1/sessions", HTTP_X_FORWARDED_FOR=f"1.2.3.{n}").status_code == 401
    # A made-up X-Forwarded-For does not make a new client.
    assert_json_429(client.get("/api/v1/sessions", HTTP_X_FORWARDED_FOR="9.9.9.9"))


def test_api_key_lock_ends_with_the_window(workspace: Any, settings: Any) -> None:
    settings.THROTTLE_API_KEY_FAILURES = 1
    settings.THROTTLE_API_KEY_WINDOW_SECONDS = 2
    good = make_api_key(workspace)
    client = APIClient(REMOTE_ADDR="10.0.5.1")
    client.credentials(HTTP_AUTHORIZATION="Bearer wrong")
    assert client.get("/api/v1/sessions").status_code == 401
    client.credentials(HTTP_AUTHORIZATION=f"Bearer {good}")
    assert_json_429(client.get("/api/v1/sessions"))
    time.sleep(2.1)
    assert client.get("/api/v1/sessions").status_code == 200


# --- The API and categorise: per key -------------------------------------------------------


def test_api_rate_per_key(workspace: Any, settings: Any, clock: Clock) -> None:
    rates(settings, api=(5, 60))
    first, second = APIClient(), APIClient()
    first.credentials(HTTP_AUTHORIZATION=f"Bearer {make_api_key(workspace)}")
    second.credentials(HTTP_AUTHORIZATION=f"Bearer {make_api_key(workspace)}")
    for _ in range(5):
        assert first.get("/api/v1/sessions").status_code == 200
    clock.now += 10
    refused = first.get("/api/v1/sessions")
    assert_json_429(refused)
    assert refused["Retry-After"] == "50"  # when the first of the five leaves the window
    assert second.get("/api/v1/sessions").status_code == 200
    clock.now += 50
    assert first.get("/api/v1/sessions").status_code == 200


def test_categorize_rate_per_key(workspace: Any, settings: Any, clock: Clock, api: Any) -> None:
    rates(settings, categorize=(3, 60))
    body = {"texts": ["too expensive"]}
    for _ in range(3):
        assert api.post("/api/v1/categorize", body, format="json").status_code == 200
    assert_json_429(api.post("/api/v1/categorize", body, format="json"))
    assert api.get("/api/v1/sessions").status_code == 200  # the rest of the API is not
    other = APIClient()
    other.credentials(HTTP_AUTHORIZATION=f"Bearer {make_api_key(workspace)}")
    assert other.post("/api/v1/categorize", body, format="json").status_code == 200
    clock.now += 61
    assert api.post("/api/v1/categorize", body, format="json").status_code == 200


# --- The widget: per IP and per workspace ---------------------------------------------------


def widget_post(client: APIClient, workspace: Any, ip: str) -> Any:
    # Unsigned: the throttle counts the attempts it refuses as well as good ones.
    body = {"workspace": workspace.public_id, "payload": "e30", "signature": "0" * 64}
    return client.post("/api/v1/widget/sessions", body, format="json", REMOTE_ADDR=ip)


def test_widget_rate_per_ip(workspace: Any, settings: Any, clock: Clock) -> None:
    rates(settings, widget_ip=(4, 60))
    other_workspace = make_workspace()
    client = APIClient()
    for n in range(4):
        response = widget_post(client, workspace if n % 2 else other_workspace, "10.0.6.1")
        assert response.status_code in (400, 401)
    assert_json_429(widget_post(client, workspace, "10.0.6.1"))
    assert_json_429(widget_post(client, other_workspace, "10.0.6.1"))
    assert widget_post(client, workspace, "10.0.6.2").status_code in (400, 401)
    clock.now += 61
    assert widget_post(client, workspace, "10.0.6.1").status_code in (400, 401)


def test_widget_rate_per_workspace(workspace: Any, settings: Any, clock: Clock) -> None:
    rates(settings, widget_workspace=(4, 60))
    other_workspace = make_workspace()
    client = APIClient()
    for n in range(4):
        assert widget_post(client, workspace, f"10.0.7.{n}").status_code in (400, 401)
    assert_json_429(widget_post(client, workspace, "10.0.7.99"))
    assert widget_post(client, other_workspace, "10.0.7.99").status_code in (400, 401)
    clock.now += 61
    assert widget_post(client, workspace, "10.0.7.99").status_code in (400, 401)


# --- The flow: per token, API and hosted pages together --------------------------------------


def test_flow_posts_per_token(workspace: Any, settings: Any, clock: Clock) -> None:
    rates(settings, flow=(4, 60))
    session, other = make_session(workspace), make_session(workspace)
    api, browser = APIClient(), Client()
    answer = {"reason": "no-such-reason"}
    for _ in range(2):
        assert (
            api.post(f"/api/v1/flow/{session.token}/answer", answer, format="json").status_code
            == 422
        )
        assert browser.post(f"/c/{session.token}/", {"reason": ""}).status_code == 422
    assert_json_429(api.post(f"/api/v1/flow/{session.token}/cancel"))
    assert_json_429(api.post(f"/api/v1/flow/{session.token}/accept", {"offer": 1}, format="json"))
    page = assert_html_429(browser.post(f"/c/{session.token}/cancel/"))
    assert "Too many attempts" in page
    session.refresh_from_db()
    assert session.outcome == ""  # not cancelled by the refused posts
    # Reading is not throttled; another token is not either.
    assert api.get(f"/api/v1/flow/{session.token}").status_code == 200
    assert browser.get(f"/c/{session.token}/").status_code == 200
    assert api.post(f"/api/v1/flow/{other.token}/cancel").status_code == 200
    clock.now += 61
    assert api.post(f"/api/v1/flow/{session.token}/cancel").status_code == 200


# --- Settings ------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("value", "expected"),
    [("30/min", (30, 60)), ("600/10min", (600, 600)), ("5/s", (5, 1)), ("1000/day", (1000, 86400))],
)
def test_rates_are_parsed(monkeypatch: pytest.MonkeyPatch, value: str, expected: Any) -> None:
    monkeypatch.setenv("THROTTLE_TEST", value)
    assert env_rate("THROTTLE_TEST", "1/s") == expected


@pytest.mark.parametrize("value", ["30", "30/fortnight", "0/min", "many/min", "30/0min"])
def test_bad_rates_stop_start_up(monkeypatch: pytest.MonkeyPatch, value: str) -> None:
    monkeypatch.setenv("THROTTLE_TEST", value)
    with pytest.raises(ImproperlyConfigured, match="THROTTLE_TEST"):
        env_rate("THROTTLE_TEST", "1/s")


def test_login_unlock_lifts_a_lockout(db: None) -> None:
    user = UserFactory()
    client = Client()
    for _ in range(10):
        sign_in(client, "/accounts/login/", user.username, "wrong", ip="10.0.8.1")
    assert_html_429(sign_in(client, "/accounts/login/", user.username, PASSWORD, ip="10.0.8.2"))
    call_command("login_unlock", username=user.username.upper(), stdout=StringIO())
    # The username is free again; the IP that sent the ten failures is still locked.
    assert (
        sign_in(client, "/accounts/login/", user.username, PASSWORD, ip="10.0.8.2").status_code
        == 302
    )
    assert_html_429(sign_in(Client(), "/accounts/login/", user.username, PASSWORD, ip="10.0.8.1"))
    call_command("login_unlock", ip="10.0.8.1", stdout=StringIO())
    assert (
        sign_in(Client(), "/accounts/login/", user.username, PASSWORD, ip="10.0.8.1").status_code
        == 302
    )


def test_login_unlock_of_an_ip_also_lifts_its_wrong_key_lock(workspace: Any, settings: Any) -> None:
    settings.THROTTLE_API_KEY_FAILURES = 2
    good = make_api_key(workspace)
    client = APIClient(REMOTE_ADDR="10.0.9.1")
    client.credentials(HTTP_AUTHORIZATION="Bearer wrong")
    for _ in range(2):
        assert client.get("/api/v1/sessions").status_code == 401
    client.credentials(HTTP_AUTHORIZATION=f"Bearer {good}")
    assert_json_429(client.get("/api/v1/sessions"))
    out = StringIO()
    call_command("login_unlock", ip="10.0.9.1", stdout=out)
    assert "api keys from 10.0.9.1" in out.getvalue()
    assert client.get("/api/v1/sessions").status_code == 200


def test_one_ip_cannot_use_up_a_workspaces_widget_budget(
    workspace: Any, settings: Any, clock: Clock
) -> None:
    rates(settings, widget_ip=(3, 60), widget_workspace=(5, 60))
    client = APIClient()
    for _ in range(3):
        assert widget_post(client, workspace, "10.0.9.1").status_code in (400, 401)
    for _ in range(10):  # refused per IP: not counted against the workspace
        assert_json_429(widget_post(client, workspace, "10.0.9.1"))
    for n in range(2):
        assert widget_post(client, workspace, f"10.0.9.{n + 2}").status_code in (400, 401)
    assert_json_429(widget_post(client, workspace, "10.0.9.50"))


def test_without_the_cache_requests_go_through(workspace: Any, settings: Any, api: Any) -> None:
    settings.CACHES = {
        "default": {
            "BACKEND": "django.core.cache.backends.redis.RedisCache",
            "LOCATION": "redis://127.0.0.1:1/0",  # nothing listens there
            "OPTIONS": {"socket_connect_timeout": 1, "socket_timeout": 1},
        }
    }
    user = UserFactory()
    assert sign_in(Client(), "/accounts/login/", user.username, "wrong").status_code == 200
    assert sign_in(Client(), "/accounts/login/", user.username, PASSWORD).status_code == 302
    assert api.get("/api/v1/sessions").status_code == 200
    session = make_session(workspace)
    assert APIClient().post(f"/api/v1/flow/{session.token}/cancel").status_code == 200
