"""Normalising text and cutting it into clauses and character n-grams."""

from __future__ import annotations

import re
import unicodedata

_SPACE = re.compile(r"\s+")
# Clause breaks (on NFKC text, where full-width punctuation is ASCII already):
# punctuation in both scripts, and contrast words after which the
# real reason usually comes ("the price is fine, but ...", "价格还行,但是...").
_CLAUSE = re.compile(
    r"[.!?;。\n]|,|、|\bbut\b|\bhowever\b|\bthough\b|\balthough\b|\bexcept\b"
    r"|但是|但|不过|可是|然而|只是"
)
_CONTRAST = re.compile(r"\bbut\b|\bhowever\b|\bthough\b|\bexcept\b|但是|但|不过|可是|然而|只是")
# Runs of letters or digits in a Latin-like script, and runs of CJK characters.
_LATIN_WORD = re.compile(r"[^\W\u3000-\u9fff\uf900-\ufaff_]+")
_CJK_RUN = re.compile(r"[\u3400-\u9fff\uf900-\ufaff]+")
# Edges of a Latin word that also hold next to Chinese: ``\b`` sees none between
# "是" and "bug" (both are word characters), so "到处是bug" or "换成notion了"
# would not match "bug" or "notion".
LATIN_CHAR = r"[^\W\u3000-\u9fff\uf900-\ufaff_]"
LATIN_START = rf"(?<!{LATIN_CHAR})"
LATIN_END = rf"(?!{LATIN_CHAR})"


def normalize(text: str) -> str:
    """NFKC (full-width to half-width), lower case, typographic quotes to ASCII,
    其它 as 其他, runs of spaces to one."""
    text = unicodedata.normalize("NFKC", text).lower()
    text = text.replace("\u2019", "'").replace("\u2018", "'")
    # 其它 and 其他 ("other") are the same word
    text = text.replace("其它", "其他")
    return _SPACE.sub(" ", text).strip()


def clauses(text: str) -> list[tuple[str, bool]]:
    """The clauses of a normalised text, each with whether a contrast word
    ("but", "但是") opened it."""
    result: list[tuple[str, bool]] = []
    position = 0
    after_contrast = False
    for match in _CLAUSE.finditer(text):
        piece = text[position : match.start()].strip()
        if piece:
            result.append((piece, after_contrast))
            after_contrast = False
        after_contrast = after_contrast or bool(_CONTRAST.fullmatch(match.group().strip()))
        position = match.end()
    tail = text[position:].strip()
    if tail:
        result.append((tail, after_contrast))
    return result


def char_ngrams(text: str, low: int = 1, high: int = 4) -> list[str]:
    """Character n-grams of the normalised text, with word edges marked, so
    "pricey" and "价格太贵" both give useful features without a segmenter."""
    padded = f" {normalize(text)} "
    grams: list[str] = []
    for size in range(low, high + 1):
        grams.extend(padded[i : i + size] for i in range(len(padded) - size + 1))
    return [g for g in grams if g.strip()]


def content_grams(normalized: str) -> list[str]:
    """The pieces of a normalised text that carry meaning, for asking "has the
    model seen this before?": each Latin word as its edge-marked 3-grams ("asdf"
    gives " as", "asd", "sdf", "df "), each run of Chinese as its bigrams (a lone
    character as itself). Punctuation and spaces give nothing."""
    grams: list[str] = []
    for word in _LATIN_WORD.findall(normalized):
        padded = f" {word} "
        grams.extend(padded[i : i + 3] for i in range(len(padded) - 2))
    for run in _CJK_RUN.findall(normalized):
        grams.extend([run] if len(run) == 1 else [run[i : i + 2] for i in range(len(run) - 1)])
    return grams
