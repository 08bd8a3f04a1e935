"""Sessions and flow API (v1), by concern: ``sessions`` (the server API),
``widget`` (sessions the host's server signed for the browser) and ``flow``
(the customer's steps, by token)."""

from surveys.api.flow import (
    FlowAcceptApi,
    FlowAnswerApi,
    FlowCancelApi,
    FlowKeepApi,
    FlowStateApi,
)
from surveys.api.sessions import SessionDetailApi, SessionListCreateApi, session_url
from surveys.api.widget import WidgetSessionCreateApi

__all__ = [
    "FlowAcceptApi",
    "FlowAnswerApi",
    "FlowCancelApi",
    "FlowKeepApi",
    "FlowStateApi",
    "SessionDetailApi",
    "SessionListCreateApi",
    "WidgetSessionCreateApi",
    "session_url",
]
