"""Bad input is a 4xx with the API's JSON error, never a 500 (issue 15, item 7).

Each case posts what an outside tester would (out-of-range dates, integers past
their column, NUL characters and lone surrogates, deep or huge bodies, unknown
paths and methods) and checks the status and the error's shape. Run it on
PostgreSQL too (DATABASE_URL=postgres://…): a NUL or an oversized integer that
slipped through would fail there with DataError rather than pass quietly.
"""

from __future__ import annotations

import io
import json
from typing import Any

import pytest
from django.test import Client, RequestFactory
from django.test.client import ClientHandler
from rest_framework.test import APIClient

from tests.factories import make_offer, make_session

pytestmark = pytest.mark.django_db

ANALYTICS = [
    "/api/v1/analytics/funnel",
    "/api/v1/analytics/reasons",
    "/api/v1/analytics/trends",
    "/api/v1/analytics/offers",
    "/api/v1/analytics/breakdown",
    "/api/v1/analytics/verbatims",
    "/api/v1/exports/sessions.csv",
]


def error_of(response: Any, status: int, code: str) -> dict[str, Any]:
    assert response.status_code == status, response.content[:500]
    assert response["Content-Type"].startswith("application/json")
    error = response.json()["error"]
    assert error["code"] == code, error
    assert error["message"]
    return error


def post_raw(api: APIClient, path: str, body: str | bytes) -> Any:
    data = body.encode("utf-8", "surrogatepass") if isinstance(body, str) else body
    return api.generic("POST", path, data, content_type="application/json")


def session_body(**extra: Any) -> dict[str, Any]:
    return {
        "customer": {"id": "cus_1", "email": "ada@example.com"},
        "subscription": {"id": "sub_1", "plan": "Pro", "mrr_cents": 4900, "currency": "USD"},
        **extra,
    }


# --- Dates at the ends of the calendar ------------------------------------------------


@pytest.mark.parametrize("path", ANALYTICS)
@pytest.mark.parametrize(
    ("params", "field"),
    [
        ({"from": "0001-01-01", "to": "0001-01-02"}, "to"),
        ({"from": "0001-01-01"}, "from"),
        ({"to": "9999-12-31"}, "to"),
        ({"from": "9999-12-30", "to": "9999-12-31"}, "to"),
    ],
)
def test_analytics_dates_out_of_range_name_the_field(api, path, params, field) -> None:
    error = error_of(api.get(path, {**params, "by": "plan"}), 422, "invalid_date")
    assert field in error["fields"]


def test_analytics_dates_at_the_bounds_still_answer(api) -> None:
    for path in ANALYTICS:
        for first, last in [("1970-01-01", "1970-01-31"), ("2999-12-01", "2999-12-31")]:
            response = api.get(path, {"from": first, "to": last, "by": "plan"})
            assert response.status_code == 200, (path, response.content[:300])


def test_a_survey_id_past_bigint_names_the_field(api) -> None:
    for survey in ["1" * 30, "0", "-5"]:
        response = api.get("/api/v1/analytics/funnel", {"survey": survey})
        assert error_of(response, 422, "invalid_survey")["fields"] == {"survey": "a number"}


# --- Integers past their column ----------------------------------------------------------


@pytest.mark.parametrize("value", [10004154966969372672, 2**31, -1])
@pytest.mark.parametrize("field", ["max_tenure_days", "min_tenure_days"])
def test_offer_rule_integers_beyond_the_column_are_400(api, field, value) -> None:
    response = api.post("/api/v1/offer-rules", {"name": "r", field: value}, format="json")
    error = error_of(response, 400, "validation_error")
    assert list(error["fields"]) == [field]


def test_offer_rule_integers_at_the_column_limit_are_stored(api) -> None:
    body = {"name": "r", "max_tenure_days": 2**31 - 1, "max_mrr_cents": 2**63 - 1}
    response = api.post("/api/v1/offer-rules", body, format="json")
    assert response.status_code == 201, response.content
    assert response.json()["max_tenure_days"] == 2**31 - 1


@pytest.mark.parametrize(
    ("path", "body", "field"),
    [
        (
            "/api/v1/metrics/subscribers",
            {"date": "2026-11-01", "active": 2**31, "new": 1},
            "active",
        ),
        ("/api/v1/offers", {"name": "o", "kind": "support", "max_uses_per_customer": 2**15}, None),
        ("/api/v1/experiments", {"name": "e", "variants": [{"name": "a", "offer": 2**64}]}, None),
        ("/api/v1/offer-rules", {"name": "r", "offer": 2**63}, "offer"),
        ("/api/v1/offer-rules", {"name": "r", "priority": 10**20}, "priority"),
    ],
)
def test_other_integers_beyond_their_column_are_400(api, path, body, field) -> None:
    error = error_of(api.post(path, body, format="json"), 400, "validation_error")
    if field:
        assert field in error["fields"]


def test_ids_past_bigint_in_paths_are_404(api) -> None:
    huge = "9" * 30
    assert api.get(f"/api/v1/experiments/{huge}").status_code == 404
    assert api.post(f"/api/v1/responses/{huge}/label", {"category": "price"}).status_code in (
        404,
        422,
    )


def test_every_integer_the_api_accepts_is_bounded(api) -> None:
    """The OpenAPI document of every request body and parameter: no unbounded integer."""
    schema = json.loads(
        api.get("/api/schema/", HTTP_ACCEPT="application/vnd.oai.openapi+json").content
    )
    components = schema["components"]["schemas"]
    request_components = {
        ref.rsplit("/", 1)[1]
        for item in schema["paths"].values()
        for operation in item.values()
        if isinstance(operation, dict)
        for content in operation.get("requestBody", {}).get("content", {}).values()
        for ref in _refs(content)
    }
    unbounded = []
    seen: set[str] = set()
    queue = list(request_components)
    while queue:
        name = queue.pop()
        if name in seen:
            continue
        seen.add(name)
        for prop, spec in components[name].get("properties", {}).items():
            queue.extend(ref.rsplit("/", 1)[1] for ref in _refs(spec))
            if spec.get("type") == "integer" and not _bounded(spec):
                unbounded.append(f"{name}.{prop}")
    for route, item in schema["paths"].items():
        for operation in item.values():
            if not isinstance(operation, dict):
                continue
            for parameter in operation.get("parameters", []):
                spec = parameter.get("schema", {})
                # Ids in paths are looked up, and an id past bigint is a 404 (below).
                query_int = parameter["in"] == "query" and spec.get("type") == "integer"
                if query_int and not _bounded(spec):
                    unbounded.append(f"{route}?{parameter['name']}")
    assert request_components
    assert unbounded == [], unbounded


def _bounded(spec: dict[str, Any]) -> bool:
    return "maximum" in spec and "minimum" in spec


def _refs(spec: Any) -> list[str]:
    if isinstance(spec, dict):
        found = [spec["$ref"]] if "$ref" in spec else []
        return found + [ref for value in spec.values() for ref in _refs(value)]
    if isinstance(spec, list):
        return [ref for value in spec for ref in _refs(value)]
    return []


# --- NUL characters, lone surrogates and deep nesting ----------------------------------


@pytest.mark.parametrize(
    ("body", "field"),
    [
        (session_body(metadata={"note": "a\x00b"}), "metadata.note"),
        (session_body(metadata={"outer": {"k\x00": 1}}), "metadata.outer"),
        (session_body(metadata={"list": ["ok", "\x00"]}), "metadata.list.1"),
        ({**session_body(), "customer": {"id": "cus_1", "name": "Ada\x00"}}, "customer.name"),
    ],
)
def test_nul_anywhere_in_json_is_400_naming_the_path(api, body, field) -> None:
    error = error_of(api.post("/api/v1/sessions", body, format="json"), 400, "validation_error")
    assert list(error["fields"]) == [field]
    assert "NUL" in error["fields"][field]


def test_nul_in_metadata_on_the_widget_endpoint_is_400(anon_api) -> None:
    body = session_body(workspace="x", timestamp=1, auth_hash="0" * 64, metadata={"n": "\x00"})
    error = error_of(
        anon_api.post("/api/v1/widget/sessions", body, format="json"), 400, "validation_error"
    )
    assert list(error["fields"]) == ["metadata.n"]


def test_a_lone_surrogate_is_400_naming_the_path(api) -> None:
    raw = json.dumps(session_body()).replace('"cus_1"', '"cus_\\ud800"')
    error = error_of(post_raw(api, "/api/v1/sessions", raw), 400, "validation_error")
    assert list(error["fields"]) == ["customer.id"]
    raw = json.dumps(session_body(metadata={"x": 1})).replace('"x"', '"\\udfff"')
    error = error_of(post_raw(api, "/api/v1/sessions", raw), 400, "validation_error")
    assert list(error["fields"]) == ["metadata"]


def test_a_surrogate_pair_is_an_ordinary_character(api) -> None:
    raw = json.dumps(session_body(metadata={"emoji": "\U0001f600"}), ensure_ascii=True)
    response = post_raw(api, "/api/v1/sessions", raw)
    assert response.status_code == 201, response.content
    assert api.get(f"/api/v1/sessions/{response.json()['id']}").json()["metadata"] == {
        "emoji": "\U0001f600"
    }


@pytest.mark.parametrize("depth", [100, 20_000])
def test_deep_json_is_400(api, depth) -> None:
    raw = '{"metadata": ' + "[" * depth + "]" * depth + "}"
    error = error_of(post_raw(api, "/api/v1/sessions", raw), 400, "validation_error")
    assert "32" in json.dumps(error["fields"])


def test_nesting_up_to_the_limit_reaches_the_serializer(api) -> None:
    nested: Any = "deep"
    for _ in range(30):  # 30 here + the body + metadata = 32 levels
        nested = {"a": nested}
    response = api.post("/api/v1/sessions", session_body(metadata=nested), format="json")
    assert response.status_code == 201, response.content


def test_malformed_json_is_still_malformed_json(api) -> None:
    error_of(post_raw(api, "/api/v1/sessions", b'{"customer": '), 400, "malformed_json")


# --- NUL outside JSON: query strings, paths, headers, form posts ------------------------


def test_nul_in_a_query_parameter_is_400_naming_it(api) -> None:
    error = error_of(api.get("/api/v1/analytics/verbatims?q=a%00b"), 400, "validation_error")
    assert list(error["fields"]) == ["q"]
    error = error_of(api.get("/api/v1/sessions?status=%00"), 400, "validation_error")
    assert list(error["fields"]) == ["status"]


def test_nul_in_a_path_or_header_is_400(api) -> None:
    error_of(api.get("/api/v1/flow/abc%00def"), 400, "validation_error")
    response = api.post(
        "/api/v1/sessions", session_body(), format="json", HTTP_IDEMPOTENCY_KEY="k\x00"
    )
    error = error_of(response, 400, "validation_error")
    assert list(error["fields"]) == ["Idempotency-Key"]


def test_nul_on_the_hosted_pages_is_a_400_page(workspace) -> None:
    session = make_session(workspace)
    client = Client(enforce_csrf_checks=True)
    response = client.post(f"/c/{session.token}/", {"reason": "price", "text": "too\x00dear"})
    assert response.status_code == 400
    assert response["Content-Type"].startswith("text/html")
    assert client.get(f"/c/{session.token}/?edit=%00").status_code == 400
    assert client.get("/c/abc%00/").status_code == 400
    session.refresh_from_db()
    assert not hasattr(session, "response") or session.response is None


# --- Bodies too large ----------------------------------------------------------------------


def test_a_body_over_the_limit_is_413_before_parsing(api) -> None:
    big = json.dumps(session_body(metadata={"pad": "x" * (1024 * 1024)}))
    error_of(post_raw(api, "/api/v1/sessions", big), 413, "payload_too_large")
    # Not even valid JSON: still 413, since nothing parsed it.
    error_of(post_raw(api, "/api/v1/sessions", b"{" * 70_000), 413, "payload_too_large")


def test_the_limit_is_a_setting(api, settings) -> None:
    settings.API_MAX_BODY_BYTES = 2048
    body = json.dumps(session_body(metadata={"pad": "x" * 3000}))
    error = error_of(post_raw(api, "/api/v1/sessions", body), 413, "payload_too_large")
    assert "2048" in error["message"]
    settings.API_MAX_BODY_BYTES = 64 * 1024
    assert post_raw(api, "/api/v1/sessions", body).status_code == 201


def test_categorize_takes_its_largest_valid_body(api, settings) -> None:
    texts = ["日历" * (settings.RESPONSE_TEXT_MAX_LENGTH // 2)] * 100
    raw = json.dumps({"texts": texts}, ensure_ascii=True)  # every character \u-escaped
    assert len(raw) > 1024 * 1024
    response = post_raw(api, "/api/v1/categorize", raw)
    assert response.status_code == 200, response.content[:300]
    assert len(response.json()) == 100


class CountingStream(io.RawIOBase):
    """A 30 MB request body that counts how much of it was read."""

    def __init__(self, size: int) -> None:
        self.size = size
        self.read_bytes = 0

    def readable(self) -> bool:
        return True

    def read(self, n: int = -1) -> bytes:
        left = self.size - self.read_bytes
        n = left if n is None or n < 0 else min(n, left)
        self.read_bytes += n
        return b"{" * n

    def readline(self, size: int = -1) -> bytes:
        return self.read(size if size and size > 0 else 65536)


def wsgi_post(path: str, stream: CountingStream, **environ: Any) -> tuple[int, bytes]:
    env = RequestFactory()._base_environ(
        PATH_INFO=path,
        REQUEST_METHOD="POST",
        CONTENT_TYPE="application/json",
        **environ,
    )
    env["wsgi.input"] = stream
    # Django's WSGI handler as the test client uses it (it keeps the test's
    # database connection open), fed the raw stream instead of a whole body.
    response = ClientHandler()(env)
    return response.status_code, response.content


def test_a_30mb_widget_body_is_refused_unread(settings) -> None:
    size = 30 * 1024 * 1024
    stream = CountingStream(size)
    status, body = wsgi_post("/api/v1/widget/sessions", stream, CONTENT_LENGTH=str(size))
    assert status == 413
    assert json.loads(body)["error"]["code"] == "payload_too_large"
    assert stream.read_bytes == 0


def test_a_30mb_streamed_body_without_length_is_cut_at_the_limit(settings) -> None:
    stream = CountingStream(30 * 1024 * 1024)
    status, body = wsgi_post(
        "/api/v1/widget/sessions",
        stream,
        HTTP_TRANSFER_ENCODING="chunked",
        **{"wsgi.input_terminated": True},
    )
    assert status == 413
    assert json.loads(body)["error"]["code"] == "payload_too_large"
    assert stream.read_bytes <= settings.API_MAX_BODY_BYTES + 1


def test_a_small_streamed_body_is_parsed(api_key) -> None:
    payload = json.dumps(session_body()).encode()

    class Small(CountingStream):
        def read(self, n: int = -1) -> bytes:
            chunk = payload[self.read_bytes : self.read_bytes + (len(payload) if n < 0 else n)]
            self.read_bytes += len(chunk)
            return chunk

    status, body = wsgi_post(
        "/api/v1/sessions",
        Small(len(payload)),
        HTTP_TRANSFER_ENCODING="chunked",
        HTTP_AUTHORIZATION=f"Bearer {api_key}",
        **{"wsgi.input_terminated": True},
    )
    assert status == 201, body
    assert json.loads(body)["status"] == "started"


# --- Every /api/ path answers JSON ---------------------------------------------------------


@pytest.mark.parametrize("method", ["GET", "POST", "PUT", "PATCH", "DELETE"])
def test_unknown_api_paths_are_json_404_for_every_method(method) -> None:
    client = Client(enforce_csrf_checks=True)  # as a browser or curl would meet it
    response = client.generic(method, "/api/v1/no-such-thing", b"{}", "application/json")
    error_of(response, 404, "not_found")
    error_of(client.generic(method, "/api/nothing/here/"), 404, "not_found")


@pytest.mark.parametrize(
    ("method", "path"),
    [
        ("PUT", "/api/v1/sessions"),
        ("DELETE", "/api/v1/analytics/funnel"),
        ("GET", "/api/v1/categorize"),
        ("PATCH", "/api/v1/offer-rules"),
    ],
)
def test_a_wrong_method_on_a_real_path_is_json_405(api, method, path) -> None:
    response = api.generic(method, path, b"{}", content_type="application/json")
    error_of(response, 405, "method_not_allowed")


@pytest.mark.parametrize("when", ["9999-12-31T23:59:59Z", "0001-01-01T00:00:00Z"])
@pytest.mark.parametrize("field", ["started_at", "current_period_end"])
def test_subscription_dates_outside_the_calendar_are_400(api, field, when) -> None:
    body = session_body()
    body["subscription"][field] = when
    error = error_of(api.post("/api/v1/sessions", body, format="json"), 400, "validation_error")
    assert list(error["fields"]["subscription"]) == [field]


def test_a_period_ending_in_2999_still_gets_its_offer(api, anon_api, workspace) -> None:
    make_offer(workspace, kind="extension", terms={"days": 30}, categories=["price"])
    body = session_body()
    body["subscription"]["current_period_end"] = "2999-12-31T23:59:59Z"
    token = api.post("/api/v1/sessions", body, format="json").json()["token"]
    response = anon_api.post(
        f"/api/v1/flow/{token}/answer", {"reason": "too_expensive"}, format="json"
    )
    assert response.status_code == 200, response.content
    assert response.json()["offer"]["kind"] == "extension"


def test_subscriber_counts_for_a_day_outside_the_calendar_are_400(api) -> None:
    body = {"date": "9999-12-31", "active": 1, "new": 0}
    error = error_of(
        api.post("/api/v1/metrics/subscribers", body, format="json"), 400, "validation_error"
    )
    assert list(error["fields"]) == ["date"]


# --- The admin's forms ---------------------------------------------------------------------


def admin_rule_form(workspace: Any, **overrides: str) -> dict[str, Any]:
    return {
        "workspace": workspace.pk,
        "name": "Price",
        "priority": 1,
        "is_active": "on",
        "reasons": "[]",
        "categories": '["price"]',
        "plans": "[]",
        "locales": "[]",
        "metadata": "{}",
        **overrides,
    }


@pytest.mark.parametrize(
    ("field", "value"),
    [
        ("metadata", '{"plan": "\\u0000"}'),
        ("metadata", '{"plan\\u0000": "x"}'),
        ("plans", '["\\ud800"]'),
        ("metadata", "[" * 40 + "]" * 40),
        ("max_tenure_days", "10004154966969372672"),
        ("min_mrr_cents", "99999999999999999999"),
        ("priority", "-1"),
    ],
)
def test_admin_forms_refuse_what_the_database_cannot_hold(workspace, field, value) -> None:
    from django.contrib.auth.models import User

    from offers.models import OfferRule

    client = Client()
    client.force_login(User.objects.create_superuser("root", "root@example.com", "pw-12345678"))
    response = client.post(
        "/admin/offers/offerrule/add/", admin_rule_form(workspace, **{field: value})
    )
    assert response.status_code == 200  # the form again, with the error
    assert field in response.context["adminform"].form.errors
    assert not OfferRule.objects.exists()
    response = client.post("/admin/offers/offerrule/add/", admin_rule_form(workspace))
    assert response.status_code == 302
    assert OfferRule.objects.count() == 1


# --- The same filters on the dashboard's pages ------------------------------------------------


@pytest.mark.parametrize(
    "query", ["from=0001-01-01&to=0001-01-02", "to=9999-12-31", f"survey={'9' * 30}"]
)
def test_dashboard_pages_answer_out_of_range_filters_kindly(workspace, query) -> None:
    from tests.factories import UserFactory
    from workspaces.models import Role
    from workspaces.services import membership_add

    user = UserFactory()
    membership_add(workspace=workspace, user=user, role=Role.ANALYST)
    client = Client()
    client.force_login(user)
    base = f"/app/{workspace.slug}"
    assert client.get(f"{base}/?{query}").status_code == 200  # the page says what is wrong
    assert client.get(f"{base}/words/?{query}").status_code == 200
    assert client.get(f"{base}/export/sessions.csv?{query}").status_code == 400
    assert client.get(f"{base}/export/figures.csv?{query}").status_code == 400
