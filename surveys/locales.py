"""Which of our languages a customer gets."""

from __future__ import annotations

from django.conf import settings

SUPPORTED = [code for code, _name in settings.LANGUAGES]


def normalize_locale(value: str | None) -> str | None:
    """Map a BCP 47 tag ('zh-CN', 'zh_Hans', 'en-GB') to a supported locale, or None."""
    if not value:
        return None
    tag = value.strip().lower().replace("_", "-")
    if tag.startswith("zh"):
        return "zh-hans"
    if tag.startswith("en"):
        return "en"
    return tag if tag in SUPPORTED else None


def localized(texts: dict[str, str] | None, locale: str) -> str:
    """Pick the text for ``locale`` from a per-locale dict, falling back to English."""
    if not texts:
        return ""
    return texts.get(locale) or texts.get("en") or next(iter(texts.values()), "")
