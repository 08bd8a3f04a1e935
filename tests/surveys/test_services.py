from __future__ import annotations

from datetime import timedelta

import pytest
from django.utils import timezone

from config.errors import Gone
from surveys.models import CancelSession, Outcome, Reason, SessionStatus
from surveys.services import (
    session_answer,
    session_cancel,
    sessions_abandon_stale,
    survey_bump_version,
)
from tests.factories import make_session


def test_abandon_marks_only_stale_open_sessions(workspace) -> None:
    now = timezone.now()
    stale = make_session(workspace)
    fresh = make_session(workspace)
    done = make_session(workspace)
    session_cancel(token=done.token)
    CancelSession.objects.filter(pk__in=[stale.pk, done.pk]).update(
        created_at=now - timedelta(hours=30)
    )
    assert sessions_abandon_stale(now=now) == 1
    assert sessions_abandon_stale(now=now) == 0  # safe to repeat
    stale.refresh_from_db()
    fresh.refresh_from_db()
    done.refresh_from_db()
    assert (stale.status, stale.outcome) == (SessionStatus.ABANDONED, Outcome.ABANDONED)
    assert fresh.status == SessionStatus.STARTED
    assert done.outcome == Outcome.CANCELLED


def test_abandon_timeout_is_configurable(workspace, settings) -> None:
    settings.SESSION_ABANDON_AFTER = timedelta(minutes=30)
    session = make_session(workspace)
    later = timezone.now() + timedelta(minutes=31)
    assert sessions_abandon_stale(now=later) == 1
    session.refresh_from_db()
    assert session.status == SessionStatus.ABANDONED


def test_abandoned_session_can_still_cancel_while_the_link_lives(workspace) -> None:
    session = make_session(workspace)
    sessions_abandon_stale(now=timezone.now() + timedelta(days=2))
    with pytest.raises(Gone):
        session_answer(token=session.token, reason_code="other")
    CancelSession.objects.filter(pk=session.pk).update(
        token_expires_at=timezone.now() + timedelta(hours=1)
    )
    assert session_cancel(token=session.token).outcome == Outcome.CANCELLED


def test_expired_open_session_is_replaced_on_reopen(workspace) -> None:
    old = make_session(workspace, subscription_id="sub_x")
    CancelSession.objects.filter(pk=old.pk).update(
        token_expires_at=timezone.now() - timedelta(minutes=1)
    )
    new = make_session(workspace, subscription_id="sub_x")
    old.refresh_from_db()
    assert new.pk != old.pk
    assert old.status == SessionStatus.ABANDONED


def test_editing_the_survey_never_rewrites_past_answers(workspace) -> None:
    session = make_session(workspace, locale="en")
    session_answer(token=session.token, reason_code="too_expensive")
    survey = workspace.surveys.get()
    reason = Reason.objects.get(survey=survey, code="too_expensive")
    reason.label = {"en": "Costs too much", "zh-hans": "太贵"}
    reason.category_id = "other"
    reason.save()
    survey_bump_version(survey=survey)
    session.refresh_from_db()
    assert session.response.reason_label == "It's too expensive"
    assert session.response.category_id == "price"
    assert session.response.survey_version == 1
    # A new session gets the new version: the survey to open is cached per
    # configuration version, which the bump moved on (as a request, which loads
    # its workspace afresh, sees it).
    workspace.refresh_from_db()
    assert make_session(workspace).survey_version == 2


def test_same_answer_twice_writes_nothing_new(workspace, django_assert_num_queries) -> None:
    session = make_session(workspace)
    session_answer(token=session.token, reason_code="too_expensive", text="pricey")
    first = CancelSession.objects.get(pk=session.pk).response.updated_at
    session_answer(token=session.token, reason_code="too_expensive", text="pricey")
    assert CancelSession.objects.get(pk=session.pk).response.updated_at == first


def test_a_survey_changed_in_the_admin_is_what_the_next_session_opens(workspace, rf) -> None:
    """Which survey opens is cached per configuration version: the admin's save
    moves the version on, so the next opening (its workspace loaded afresh, as a
    request's is) sees the change, with no stale survey kept."""
    from django.contrib import admin
    from django.contrib.auth.models import User

    from config.errors import Conflict
    from surveys.admin import SurveyAdmin
    from surveys.models import Survey

    make_session(workspace)  # the default survey, now cached
    request = rf.post("/admin/")
    request.user = User.objects.create_superuser("root", "root@example.com", "pw-12345678")
    survey = Survey.objects.get(workspace=workspace)
    survey.is_active = False
    SurveyAdmin(Survey, admin.site).save_model(request, survey, None, True)
    workspace.refresh_from_db()
    with pytest.raises(Conflict) as refused:
        make_session(workspace)
    assert refused.value.code == "no_survey"
    survey.is_active = True
    SurveyAdmin(Survey, admin.site).save_model(request, survey, None, True)
    workspace.refresh_from_db()
    assert make_session(workspace).survey_id == survey.pk


def test_opening_again_for_a_subscription_with_an_open_session_gives_that_session(
    workspace,
) -> None:
    """The insert is tried first and skipped on the one-open-session clash; the
    open session comes back, nothing new is written, no second 'opened' event."""
    from outbound.models import OutboxEvent
    from surveys.services import CustomerInput, SubscriptionInput, session_open

    first = make_session(workspace, subscription_id="sub_again")
    events = OutboxEvent.objects.count()
    again = session_open(
        workspace=workspace,
        customer=CustomerInput(id="cus_again"),
        subscription=SubscriptionInput(id="sub_again"),
    )
    assert again.created is False and again.session.pk == first.pk
    assert CancelSession.objects.filter(subscription_id="sub_again").count() == 1
    assert OutboxEvent.objects.count() == events
    session_cancel(token=first.token)
    third = make_session(workspace, subscription_id="sub_again")  # the old one has ended
    assert third.pk != first.pk and third.status == SessionStatus.STARTED
