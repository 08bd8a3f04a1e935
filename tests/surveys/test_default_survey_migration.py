"""Default surveys made before German arrived get it (and full-width Chinese)
from surveys 0011; a team's own wording is left as it is."""

from __future__ import annotations

import importlib

from django.apps import apps

from surveys.models import Reason, Survey

german = importlib.import_module("surveys.migrations.0011_default_survey_german")


def test_old_default_surveys_get_german_and_full_width_chinese(workspace) -> None:
    survey = Survey.objects.get(workspace=workspace, is_default=True)
    # As the survey was made before: no German, half-width Chinese.
    Survey.objects.filter(pk=survey.pk).update(
        question={"en": "Why are you cancelling?", "zh-hans": "您为什么要取消订阅?"}
    )
    Reason.objects.filter(survey=survey, code="too_expensive").update(
        label={"en": "It's too expensive", "zh-hans": "价格太贵了"},
        follow_up={"en": "What price would have felt fair?", "zh-hans": "什么价格您会觉得合适?"},
    )
    # A team's own wording.
    Reason.objects.filter(survey=survey, code="other").update(
        label={"en": "Our own words", "zh-hans": "我们自己的话?"}, follow_up={}
    )
    version = Survey.objects.get(pk=survey.pk).version

    german.default_survey_german(apps, None)

    survey.refresh_from_db()
    assert survey.question == {
        "en": "Why are you cancelling?",
        "zh-hans": "您为什么要取消订阅？",
        "de": "Warum möchten Sie kündigen?",
    }
    assert survey.version == version + 1  # the cached reasons are read afresh
    price = Reason.objects.get(survey=survey, code="too_expensive")
    assert price.label["de"] == "Es ist mir zu teuer"
    assert price.follow_up["zh-hans"] == "什么价格您会觉得合适？"
    own = Reason.objects.get(survey=survey, code="other")
    assert own.label == {"en": "Our own words", "zh-hans": "我们自己的话?"}

    # Run again: nothing left to do, the version stays.
    german.default_survey_german(apps, None)
    survey.refresh_from_db()
    assert survey.version == version + 1
