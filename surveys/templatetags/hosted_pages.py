"""Tags for the hosted pages' hot parts, rendered once and reused.

- ``{% reason_choices state %}``: the survey's radio buttons, cached by what they
  show (``surveys.hosted.reason_choices``);
- ``{% asset "css/flow.css" %}``: ``{% static %}``, resolved once per path (the
  manifest does not change while a process runs; a change of the static
  settings, as tests make, starts afresh).
"""

from __future__ import annotations

from functools import lru_cache

from django import template
from django.core.signals import setting_changed
from django.dispatch import receiver
from django.templatetags.static import static
from django.utils.safestring import SafeString

from surveys.hosted import first_survey_pages_clear
from surveys.hosted import reason_choices as _reason_choices
from surveys.selectors import FlowState

register = template.Library()


@register.simple_tag
def reason_choices(state: FlowState) -> SafeString:
    checked = state.answer.reason_code if state.answer is not None else ""
    return _reason_choices(tuple(state.reasons), checked)


@lru_cache(maxsize=64)
def _asset(path: str) -> str:
    return static(path)


@register.simple_tag
def asset(path: str) -> str:
    return _asset(path)


@receiver(setting_changed)
def _static_settings_changed(*, setting: str, **kwargs: object) -> None:
    if setting in {"STATIC_URL", "STORAGES", "STATIC_ROOT", "STATICFILES_DIRS"}:
        _asset.cache_clear()
        first_survey_pages_clear()  # they hold the assets' addresses
