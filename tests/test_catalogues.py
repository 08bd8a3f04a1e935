"""The catalogues read as native (issue 18): Chinese uses full-width punctuation,
in the catalogue and on the rendered pages, and the German catalogue covers every
message the customer's pages, emails and the language names use."""

from __future__ import annotations

import gettext
import io
import re
import tokenize
from html.parser import HTMLParser
from pathlib import Path

import pytest
from babel.messages.pofile import read_po
from django.conf import settings
from django.test import Client
from django.utils import translation
from django.utils.translation.template import templatize

from offers.demo import DEMO_OFFERS
from surveys.taxonomy import DEFAULT_QUESTION, DEFAULT_REASONS
from tests.factories import make_offer
from tests.offers.conftest import open_session

BASE = Path(settings.BASE_DIR)
LOCALE = BASE / "locale"

# What a customer reads: the hosted pages, the confirmation emails and the code
# that words the offers, errors and outcomes for them.
CUSTOMER_TEMPLATES = [
    BASE / "templates/base.html",
    BASE / "templates/throttled.html",
    *sorted((BASE / "templates/surveys").glob("*.html")),
    *sorted((BASE / "templates/offers/email").glob("*")),
]
CUSTOMER_CODE = [
    BASE / "surveys/views.py",
    BASE / "offers/presentation.py",
    BASE / "offers/confirmation.py",
    BASE / "config/throttling.py",
    BASE / "config/middleware.py",  # the 400 page for a NUL in a form post
]

CJK = r"[\u3400-\u9fff\uf900-\ufaff]"
# A half-width , ; ? : ! ( ) next to a Chinese character, or a "." after one.
HALF_WIDTH = re.compile(rf"(?<={CJK})[,;?:!().]|[,;?:!()](?={CJK})")


def half_width_next_to_chinese(text: str) -> list[str]:
    return [text[max(m.start() - 6, 0) : m.end() + 6] for m in HALF_WIDTH.finditer(text)]


def compiled(language: str) -> dict[object, str]:
    with open(LOCALE / language / "LC_MESSAGES" / "django.mo", "rb") as mo:
        return gettext.GNUTranslations(mo)._catalog  # type: ignore[attr-defined]


GETTEXT_NAMES = {
    "_": (1, False),
    "gettext": (1, False),
    "gettext_lazy": (1, False),
    "ngettext": (2, False),
    "ngettext_lazy": (2, False),
    "pgettext": (2, True),
    "pgettext_lazy": (2, True),
    "npgettext": (3, True),
}


def messages_in(source: str) -> set[tuple[str | None, str, str | None]]:
    """(context, msgid, plural) of every gettext call with literal strings."""
    found: set[tuple[str | None, str, str | None]] = set()
    tokens = [
        t
        for t in tokenize.generate_tokens(io.StringIO(source).readline)
        if t.type not in (tokenize.NL, tokenize.NEWLINE, tokenize.COMMENT)
    ]
    for i, token in enumerate(tokens[:-2]):
        if token.type != tokenize.NAME or token.string not in GETTEXT_NAMES:
            continue
        if tokens[i + 1].string != "(":
            continue
        count, has_context = GETTEXT_NAMES[token.string]
        args: list[str] = []
        j = i + 2
        while len(args) < count and j < len(tokens) and tokens[j].type == tokenize.STRING:
            literal = ""
            while j < len(tokens) and tokens[j].type == tokenize.STRING:  # "a" "b"
                literal += eval(tokens[j].string)  # a Python string literal
                j += 1
            args.append(literal)
            if j < len(tokens) and tokens[j].string == ",":
                j += 1
        if len(args) < count:
            continue
        context = args.pop(0) if has_context else None
        found.add((context, args[0], args[1] if len(args) > 1 else None))
    return found


def customer_messages() -> set[tuple[str | None, str, str | None]]:
    found: set[tuple[str | None, str, str | None]] = set()
    for path in CUSTOMER_TEMPLATES:
        found |= messages_in(templatize(path.read_text(), origin=str(path)))
    for path in CUSTOMER_CODE:
        found |= messages_in(path.read_text())
    # The language names come along too (their msgids: no language active).
    with translation.override(None):
        names = {(None, str(name), None) for _code, name in settings.LANGUAGES}
    return found | names


def test_the_extraction_finds_the_customer_messages() -> None:
    messages = {msgid for _ctx, msgid, _plural in customer_messages()}
    assert "Cancel my subscription" in messages  # a template
    assert "Accept the discount" in messages  # code
    assert "%(days)s extra day free" in messages  # a plural
    assert "jetzt kündigen" in messages  # with context
    assert "Hello %(customer_name)s," in messages  # the email's blocktranslate
    assert len(messages) > 80


def test_the_german_catalogue_covers_every_customer_message() -> None:
    catalogue = compiled("de")
    missing = []
    for context, msgid, plural in sorted(customer_messages(), key=str):
        key = f"{context}\x04{msgid}" if context else msgid
        translated = (
            [catalogue.get((key, 0)), catalogue.get((key, 1))] if plural else [catalogue.get(key)]
        )
        if not all(translated):
            missing.append(msgid)
    assert missing == []


def test_the_compliance_wording_stays_german_in_every_language() -> None:
    for language in ("de", "zh_Hans"):
        catalogue = compiled(language)
        for msgid in ("jetzt kündigen", "Verträge hier kündigen"):
            [key] = [k for k in catalogue if isinstance(k, str) and k.endswith("\x04" + msgid)]
            assert catalogue[key] == msgid


@pytest.mark.parametrize("language", ["de", "zh_Hans"])
def test_the_compiled_catalogue_matches_its_source(language: str) -> None:
    """No fuzzy guesses in the source, and the committed .mo is compiled from it."""
    with open(LOCALE / language / "LC_MESSAGES" / "django.po", "rb") as po:
        source = read_po(po)
    catalogue = compiled(language)
    fuzzy = [m.id for m in source if m.id and m.fuzzy]
    assert fuzzy == []
    stale = []
    for message in source:
        if not message.id or not message.string:
            continue
        ids = message.id if isinstance(message.id, tuple) else (message.id,)
        key = f"{message.context}\x04{ids[0]}" if message.context else ids[0]
        if isinstance(message.string, tuple):
            if catalogue.get((key, 0)) != message.string[0]:
                stale.append(ids[0])
        elif catalogue.get(key) != message.string:
            stale.append(ids[0])
    assert stale == [], "run `make messages` (compilemessages) and commit the .mo"


def test_the_chinese_catalogue_uses_full_width_punctuation() -> None:
    problems = {
        str(msgid): found
        for msgid, text in compiled("zh_Hans").items()
        if msgid and (found := half_width_next_to_chinese(text))
    }
    assert problems == {}


def test_the_default_survey_and_demo_offers_use_full_width_punctuation() -> None:
    texts = [DEFAULT_QUESTION["zh-hans"]]
    for _code, _category, label, follow_up, _mode in DEFAULT_REASONS:
        texts += [label["zh-hans"], follow_up["zh-hans"]]
        assert label.get("de") and follow_up.get("de")
    for offer in DEMO_OFFERS.values():
        texts += list(offer["copy"]["zh-hans"].values())
        assert offer["copy"].get("de")
    assert [t for t in texts if half_width_next_to_chinese(t)] == []
    assert DEFAULT_QUESTION.get("de")


def test_the_check_catches_half_width_punctuation() -> None:
    assert half_width_next_to_chinese("您为什么要取消订阅?")
    assert half_width_next_to_chinese("不用了,取消")
    assert half_width_next_to_chinese("产品不好用(有故障)")
    assert not half_width_next_to_chinese("您为什么要取消订阅？ $49.00, 14:03")


class TextNodes(HTMLParser):
    """The text a reader sees: no tags, attributes, URLs, scripts or code."""

    SKIP = {"script", "style", "code", "pre"}

    def __init__(self) -> None:
        super().__init__()
        self.depth = 0
        self.texts: list[str] = []

    def handle_starttag(self, tag: str, attrs: list) -> None:
        if tag in self.SKIP:
            self.depth += 1

    def handle_endtag(self, tag: str) -> None:
        if tag in self.SKIP and self.depth:
            self.depth -= 1

    def handle_data(self, data: str) -> None:
        if not self.depth and data.strip():
            self.texts.append(data.replace("\u2060", ""))


def text_nodes(html: str) -> list[str]:
    parser = TextNodes()
    parser.feed(html)
    return parser.texts


def test_text_nodes_leave_out_attributes_and_code() -> None:
    texts = text_nodes('<p title="a,b">你好，<code>x?y</code><a href="/?a=1">链接</a></p>')
    assert texts == ["你好，", "链接"]


def test_the_rendered_chinese_pages_use_full_width_punctuation(workspace) -> None:
    """Every hosted page a Chinese customer can meet, in every state."""
    client = Client()
    make_offer(workspace)
    pause = make_offer(
        workspace, name="p", kind="pause", terms={"max_months": 3}, categories=["not_needed"]
    )
    make_offer(workspace, name="s", kind="support", terms={}, categories=["customer_service"])
    pages: dict[str, str] = {}

    def get(name: str, url: str, **kwargs: object) -> None:
        response = client.get(url, **kwargs)
        assert response.status_code in (200, 404, 409, 410), (name, response.status_code)
        pages[name] = response.content.decode()

    saved = open_session(workspace, locale="zh-hans", return_url="https://app.example.com/")
    c = f"/c/{saved.token}/"
    get("survey", c)
    client.post(c, {"reason": "too_expensive"})
    get("offer", f"{c}offer/")
    client.post(f"{c}accept/", {"offer": saved.offer_id if saved.offer_id else ""})
    saved.refresh_from_db()
    client.post(f"{c}accept/", {"offer": saved.offer_id})
    get("done saved", f"{c}done/")
    pages["stale cancel"] = client.post(f"{c}cancel/").content.decode()

    paused = open_session(workspace, locale="zh-hans")
    p = f"/c/{paused.token}/"
    client.post(p, {"reason": "not_using"})
    get("pause offer", f"{p}offer/")
    pages["pause missing months"] = client.post(f"{p}accept/", {"offer": pause.pk}).content.decode()
    client.post(f"{p}accept/", {"offer": pause.pk, "months": "2"})
    get("done paused", f"{p}done/")

    support = open_session(workspace, locale="zh-hans")
    s = f"/c/{support.token}/"
    client.post(s, {"reason": "support"})
    support.refresh_from_db()
    client.post(f"{s}accept/", {"offer": support.offer_id})
    get("done support", f"{s}done/")

    cancelled = open_session(workspace, locale="zh-hans")
    pages["survey error"] = client.post(
        f"/c/{cancelled.token}/", {"action": "continue"}
    ).content.decode()
    client.post(f"/c/{cancelled.token}/", {"action": "cancel"})
    get("done cancelled", f"/c/{cancelled.token}/done/")
    get("unknown link", "/c/nope/", HTTP_ACCEPT_LANGUAGE="zh-CN")

    workspace.compliance_mode = True
    workspace.save(update_fields=["compliance_mode"])
    compliant = open_session(workspace, locale="zh-hans")
    get("compliance survey", f"/c/{compliant.token}/")
    get("compliance offer", f"/c/{compliant.token}/offer/")
    client.post(f"/c/{compliant.token}/cancel/")
    get("compliance done", f"/c/{compliant.token}/done/")

    assert {name for name, html in pages.items() if 'lang="zh-Hans"' not in html} == set()
    problems = {
        name: found
        for name, html in pages.items()
        if (found := [f for t in text_nodes(html) for f in half_width_next_to_chinese(t)])
    }
    assert problems == {}
