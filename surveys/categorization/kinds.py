"""The kinds of model a workspace can learn, by name (``CLASSIFIER_MODEL``):
training one and reading a stored one back, whichever kind it is."""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from surveys.categorization.classifier import LogisticModel, Model, NaiveBayes
from surveys.categorization.embedding import EmbeddingModel
from surveys.categorization.unplaceable import NON_ANSWERS

# "embedding" needs the optional embeddings extra (``embedding.INSTALL_HINT``).
MODEL_KINDS = ("logistic", "naive_bayes", "embedding")


def model_from_json(data: dict[str, Any]) -> Model:
    """A stored model, whichever kind it is (an embedding model raises
    ``EmbeddingsUnavailable`` without the extra)."""
    kind = data.get("kind")
    if kind == "logistic_char_1_4":
        return LogisticModel.from_json(data)
    if kind == "embedding_logistic":
        return EmbeddingModel.from_json(data)
    return NaiveBayes.from_json(data)


def train_model(examples: Iterable[tuple[str, str]], *, kind: str = "logistic") -> Model:
    """A model of a workspace's labelled answers, plus the built-in non-answers
    as "other" (so it can say "I don't know"). Logistic regression by default:
    chosen by the held-out comparison in the README."""
    extra = [(text, "other") for text in NON_ANSWERS]
    if kind == "naive_bayes":
        return NaiveBayes.train(examples, extra=extra)
    if kind == "embedding":
        return EmbeddingModel.train(examples, extra=extra)
    if kind != "logistic":
        raise ValueError(f"Unknown model kind {kind!r}: one of {', '.join(MODEL_KINDS)}.")
    return LogisticModel.train(examples, extra=extra)
