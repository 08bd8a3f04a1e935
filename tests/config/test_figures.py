"""A difference of two rates reads the same wherever the team reads one (the
dashboard and an experiment's page), its unit in the reader's language."""

from __future__ import annotations

import pytest
from django.template import Context, Template
from django.utils import translation

from config.figures import points


@pytest.mark.parametrize(
    ("language", "expected"),
    [("en", "+5.0 pp"), ("zh-hans", "+5.0 个百分点"), ("de", "+5.0 Pp.")],
)
def test_points_are_in_the_readers_language(language: str, expected: str) -> None:
    with translation.override(language):
        assert points(0.05) == expected
        assert points(-0.123).startswith("\u221212.3")  # a true minus
        assert points(0.0).startswith("±0.0")
        assert points(None) == "—"


def test_the_dashboard_and_the_experiment_page_write_points_alike() -> None:
    dashboard = Template("{% load figures %}{{ d|points }}")
    experiment = Template("{% load experiment_figures %}{{ d|points }}")
    with translation.override("zh-hans"):
        for delta in (0.2, -0.2, 0.0):
            context = Context({"d": delta})
            assert dashboard.render(context) == experiment.render(context)
