from __future__ import annotations

import pytest
from rest_framework.test import APIClient

from surveys.models import Competitor, Response
from surveys.services import session_answer
from tests.factories import make_api_key, make_session

pytestmark = pytest.mark.django_db


def test_categorize_texts_like_the_flow(api, workspace) -> None:
    Competitor.objects.create(workspace=workspace, name="Acme")
    from workspaces.services import workspace_config_bump

    workspace_config_bump(workspace_id=workspace.pk)
    response = api.post(
        "/api/v1/categorize",
        {"texts": ["Too pricey for what we use", "太贵了,用不起", "we moved to Acme", "hm", "zxq"]},
        format="json",
    )
    assert response.status_code == 200
    body = response.json()
    assert [r["category"] for r in body] == ["price", "price", "competitor", "other", "other"]
    assert body[2]["competitors"] == ["Acme"]
    assert body[0]["source"] == "rule" and 0 < body[0]["confidence"] <= 1
    # "hm" is filler (a rule knows it), "zxq" nothing knows: both other, to review
    assert body[3] == {
        "category": "other",
        "confidence": 0.0,
        "source": "rule",
        "needs_review": True,
        "competitors": [],
    }
    assert body[4] == {**body[3], "source": "none"}


@pytest.mark.parametrize(
    "payload",
    [{}, {"texts": []}, {"texts": "not a list"}, {"texts": ["x" * 2001]}, {"texts": ["a"] * 101}],
)
def test_bad_categorize_requests_are_400(api, payload) -> None:
    response = api.post("/api/v1/categorize", payload, format="json")
    assert response.status_code == 400
    assert response.json()["error"]["code"] == "validation_error"
    assert "texts" in response.json()["error"]["fields"]


def test_categorize_needs_an_api_key(anon_api) -> None:
    assert anon_api.post("/api/v1/categorize", {"texts": ["x"]}, format="json").status_code == 401


def test_review_queue_and_manual_label(api, workspace) -> None:
    session = make_session(workspace)
    session_answer(token=session.token, reason_code="other", text="hmm, reasons")
    answer = Response.objects.get(session=session)
    queue = api.get("/api/v1/responses/review").json()
    assert [item["id"] for item in queue] == [answer.pk]
    # The default lexicon knows non-answers ("hmm", "reasons"): a rule said "other".
    assert (queue[0]["category"], queue[0]["source"]) == ("other", "rule")

    labelled = api.post(
        f"/api/v1/responses/{answer.pk}/category", {"category": "values"}, format="json"
    )
    assert labelled.status_code == 200
    assert labelled.json()["category"] == "values" and labelled.json()["source"] == "manual"
    assert api.get("/api/v1/responses/review").json() == []
    bad = api.post(f"/api/v1/responses/{answer.pk}/category", {"category": "x"}, format="json")
    assert bad.status_code == 400


def test_another_workspaces_answers_are_out_of_reach(workspace, other_workspace) -> None:
    session = make_session(other_workspace)
    session_answer(token=session.token, reason_code="other", text="hmm")
    theirs = Response.objects.get(session=session)
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Bearer {make_api_key(workspace)}")
    assert client.get("/api/v1/responses/review").json() == []
    response = client.post(
        f"/api/v1/responses/{theirs.pk}/category", {"category": "price"}, format="json"
    )
    assert response.status_code == 404
    theirs.refresh_from_db()
    assert theirs.category_id == "other"


def test_competitor_mentions_counted_by_period(api, workspace) -> None:
    Competitor.objects.create(workspace=workspace, name="Acme", aliases=["艾克米"])
    Competitor.objects.create(workspace=workspace, name="Globex")
    from workspaces.services import workspace_config_bump

    workspace_config_bump(workspace_id=workspace.pk)
    for text in ["moving to Acme", "换成艾克米了", "Globex is cheaper", "acme!"]:
        session = make_session(workspace)
        session_answer(token=session.token, reason_code="other", text=text)
    counts = api.get("/api/v1/competitors/mentions").json()
    assert [(c["competitor"], c["mentions"]) for c in counts] == [("Acme", 3), ("Globex", 1)]
    future = api.get("/api/v1/competitors/mentions?from=2099-01-01T00:00:00Z").json()
    assert future == []
    assert api.get("/api/v1/competitors/mentions?from=yesterday").status_code == 400


def _templated_model(workspace) -> None:
    """The demo's model of old: a few sentences, repeated many times."""
    from surveys.categorization.kinds import train_model
    from surveys.models import ClassifierModel
    from workspaces.services import workspace_config_bump

    templates = [
        ("Too pricey for what we use", "price"),
        ("Missing Gantt charts", "missing_features"),
        ("Too many bugs after the last update", "product_quality"),
        ("Setup took too long, gave up", "too_complex"),
        ("Waited a week for a reply", "customer_service"),
        ("We moved to Acme, it integrates with our CRM", "competitor"),
        ("Project ended, don't need it for now", "not_needed"),
    ] * 300
    model = train_model(templates)
    ClassifierModel.objects.create(
        workspace=workspace,
        version=1,
        trained_at=workspace.created_at,
        examples=len(templates),
        labels_seen=len(templates),
        parameters=model.to_json(),
    )
    workspace_config_bump(workspace_id=workspace.pk)


def test_nonsense_is_other_and_queued_even_with_a_templated_model(api, workspace) -> None:
    _templated_model(workspace)
    texts = [
        "asdf qwer",
        "no reason",
        "ok",
        "my dog ate my laptop",
        "随便",
        "Just not for me anymore",
    ]
    body = api.post("/api/v1/categorize", {"texts": texts}, format="json").json()
    for text, result in zip(texts, body, strict=True):
        assert result["category"] == "other", (text, result)
        assert result["needs_review"] is True, (text, result)
        assert result["confidence"] < 0.5, (text, result)
    sure = api.post("/api/v1/categorize", {"texts": ["far too pricey"]}, format="json").json()
    assert sure[0]["category"] == "price" and sure[0]["needs_review"] is False


def test_an_unplaceable_answer_gets_no_price_offer_and_reaches_the_review_queue(
    api, workspace
) -> None:
    from tests.factories import make_offer

    _templated_model(workspace)
    make_offer(workspace)  # a discount for answers about price
    vague = make_session(workspace)
    session_answer(token=vague.token, reason_code="other", text="Just not for me anymore")
    vague.refresh_from_db()
    answer = Response.objects.get(session=vague)
    assert (answer.category_id, answer.needs_review) == ("other", True)
    assert answer.category_confidence < 0.5
    assert vague.offer_id is None
    pricey = make_session(workspace)
    session_answer(token=pricey.token, reason_code="other", text="the fees are far too high")
    pricey.refresh_from_db()
    assert Response.objects.get(session=pricey).category_id == "price"
    assert pricey.offer_id is not None
    queue = api.get("/api/v1/responses/review").json()
    assert [item["text"] for item in queue] == ["Just not for me anymore"]
