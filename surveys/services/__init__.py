"""Writes for surveys and the cancel flow, by concern:

- ``surveys``: the default survey and survey versions;
- ``opening``: opening a session, idempotently;
- ``flow``: the session's transitions and the one event each publishes;
- ``classifier``: labels set by hand, training, categorising again;
- ``privacy``: erasing a customer's personal data.

The public names are re-exported here, so ``from surveys.services import ...``
works for each of them.
"""

from surveys.services.classifier import (
    categorize_texts,
    classifier_retrain_due,
    classifier_train,
    classifiers_retrain_due,
    response_relabel,
    responses_recategorize,
)
from surveys.services.flow import (
    SESSION_ABANDONED,
    SESSION_ANSWERED,
    SESSION_COMPLETED,
    SESSION_EVENTS,
    SESSION_LOCALE_CHANGED,
    SESSION_OPENED,
    SESSION_RELABELLED,
    SessionSnapshot,
    session_accept,
    session_answer,
    session_cancel,
    session_event_publish,
    session_keep,
    session_set_locale,
    sessions_abandon_stale,
)
from surveys.services.opening import (
    CustomerInput,
    OpenedSession,
    SubscriptionInput,
    request_fingerprint,
    session_open,
)
from surveys.services.privacy import SessionsErased, sessions_personal_data_erase
from surveys.services.surveys import categories_ensure, survey_bump_version, survey_create_default

__all__ = [
    "SESSION_ABANDONED",
    "SESSION_ANSWERED",
    "SESSION_COMPLETED",
    "SESSION_EVENTS",
    "SESSION_LOCALE_CHANGED",
    "SESSION_OPENED",
    "SESSION_RELABELLED",
    "CustomerInput",
    "OpenedSession",
    "SessionSnapshot",
    "SessionsErased",
    "SubscriptionInput",
    "categories_ensure",
    "categorize_texts",
    "classifier_retrain_due",
    "classifier_train",
    "classifiers_retrain_due",
    "request_fingerprint",
    "response_relabel",
    "responses_recategorize",
    "session_accept",
    "session_answer",
    "session_cancel",
    "session_event_publish",
    "session_keep",
    "session_open",
    "session_set_locale",
    "sessions_abandon_stale",
    "sessions_personal_data_erase",
    "survey_bump_version",
    "survey_create_default",
]
