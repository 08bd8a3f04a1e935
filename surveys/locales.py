"""Which of our languages a customer gets."""

from __future__ import annotations

from django.conf import settings
from django.utils.translation.trans_real import parse_accept_lang_header

SUPPORTED = [code for code, _name in settings.LANGUAGES]


def normalize_locale(value: str | None) -> str | None:
    """Map a BCP 47 tag ('zh-CN', 'zh_Hans', 'en-GB', 'de-AT') to a supported
    locale, or None."""
    if not value:
        return None
    tag = value.strip().lower().replace("_", "-")
    if tag.startswith("zh"):
        return "zh-hans"
    base = tag.split("-", 1)[0]
    if base in ("en", "de"):
        return base
    return tag if tag in SUPPORTED else None


def locale_from_accept_language(header: str | None) -> str | None:
    """The first of the browser's languages (by its q-values) that we speak:
    "fr-CH, de;q=0.8, en;q=0.5" -> "de"; None when it names none of ours."""
    if not header:
        return None
    # Django's parser: ordered by q, refuses malformed headers (returns ()).
    for tag, _q in parse_accept_lang_header(header[:255]):
        if tag == "*":
            continue
        locale = normalize_locale(tag)
        if locale is not None:
            return locale
    return None


def localized(texts: dict[str, str] | None, locale: str) -> str:
    """Pick the text for ``locale`` from a per-locale dict, falling back to English."""
    if not texts:
        return ""
    return texts.get(locale) or texts.get("en") or next(iter(texts.values()), "")
