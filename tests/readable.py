"""Text as a reader sees it: formatted dates keep their words together with
no-break spaces and (in Chinese) invisible word joiners; tests compare the words."""

from __future__ import annotations


def plain(text: str) -> str:
    return text.replace("\u00a0", " ").replace("\u202f", " ").replace("\u2060", "")
