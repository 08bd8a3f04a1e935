"""Keyword and phrase rules: the default lexicon for English and Chinese, plus a
workspace's own rules, with negation.

A phrase scores its weight for its category unless it is negated: a negator just
before it ("not expensive", "不贵") or a reassurance just after it in the same
clause ("the price is fine", "价格还行"). A clause opened by a contrast word
("..., but it's missing X", "但是…") counts half again: that is where people put
the real reason.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass

from surveys.categorization.text import clauses, normalize

# category -> locale -> {phrase: weight}. Phrases are matched on normalised text
# (lower case, half-width); Latin phrases on word boundaries, a trailing "*"
# allows any ending ("bug*" matches "bugs", "buggy").
DEFAULT_LEXICON: dict[str, dict[str, dict[str, float]]] = {
    "price": {
        "en": {
            "expensive": 2,
            "expensiv*": 2,
            "too expensive": 3,
            "pricey": 2,
            "overpriced": 3,
            "price*": 1.5,
            "pricing": 1.5,
            "cost*": 1.5,
            "costly": 2,
            "afford*": 2,
            "can't afford": 3,
            "cannot afford": 3,
            "budget*": 2,
            "money": 1.5,
            "not worth": 2,
            "worth it": 1,
            "too much": 1.5,
            "fee*": 1.5,
            "cheaper": 1,
            "pay*": 1,
            "paying": 1,
            "price increase": 3,
            "price hike": 3,
            "raised the price": 3,
            "spend*": 1,
            "$": 1,
            "dollars": 1.5,
            "discount": 1,
            "per seat": 1.5,
            "per month": 1,
            "value for money": 2,
        },
        "zh-hans": {
            "贵": 2,
            "太贵": 3,
            "价格": 2,
            "价钱": 2,
            "费用": 2,
            "涨价": 3,
            "便宜": 1,
            "用不起": 3,
            "负担不起": 3,
            "付不起": 3,
            "不值": 2,
            "不划算": 3,
            "性价比": 2,
            "预算": 2,
            "钱": 1.5,
            "收费": 2,
            "花费": 2,
            "成本": 1.5,
            "付费": 1,
            "省钱": 2,
            "年费": 2,
            "月费": 2,
            "续费": 1,
        },
    },
    "product_quality": {
        "en": {
            "bug*": 2.5,
            "crash*": 2.5,
            "slow": 2,
            "slowness": 2,
            "broken": 2,
            "doesn't work": 2,
            "didn't work": 2,
            "not working": 2,
            "stopped working": 2.5,
            "unreliable": 2.5,
            "glitch*": 2.5,
            "error*": 2,
            "downtime": 2.5,
            "outage*": 2.5,
            "lag*": 2,
            "quality": 2,
            "data loss": 3,
            "lost my data": 3,
            "lost data": 3,
            "sync*": 1,
            "wrong numbers": 2.5,
            "late": 1,
            "freez*": 2.5,
            "unstable": 2.5,
            "keeps failing": 2.5,
            "flaky": 2.5,
            "performance": 1.5,
            "loads forever": 2.5,
            "timeout*": 2,
            "janky": 2,
        },
        "zh-hans": {
            "bug": 2.5,
            "故障": 2.5,
            "崩溃": 2.5,
            "闪退": 2.5,
            "卡顿": 2.5,
            "太慢": 2,
            "很慢": 2,
            "慢": 1,
            "不稳定": 2.5,
            "出错": 2,
            "报错": 2.5,
            "错误": 1.5,
            "宕机": 2.5,
            "质量": 2,
            "不好用": 1.5,
            "数据丢失": 3,
            "丢失": 2,
            "同步": 1.5,
            "出问题": 2,
            "卡死": 2.5,
            "打不开": 2.5,
            "加载": 1,
            "经常坏": 2.5,
            "不能用": 2,
        },
    },
    "customer_service": {
        "en": {
            "support": 2,
            "suport": 2,
            "supprt": 2,
            "customer service": 3,
            "service": 1,
            "nobody answered": 3,
            "no response": 2.5,
            "no one replied": 3,
            "never replied": 3,
            "never heard back": 3,
            "rude": 2.5,
            "unhelpful": 2.5,
            "waited": 1.5,
            "waiting for": 1,
            "ticket*": 2,
            "response time": 2.5,
            "ignored": 2,
            "account manager": 2,
            "help desk": 2.5,
            "helpdesk": 2.5,
            "support team": 3,
            "agent*": 1,
            "chatbot": 2,
            "email back": 2,
        },
        "zh-hans": {
            "客服": 3,
            "服务": 1.5,
            "售后": 3,
            "没人回复": 3,
            "不回复": 3,
            "没人理": 3,
            "回复慢": 3,
            "态度": 1,
            "没人接": 3,
            "不接电话": 3,
            "工单": 2.5,
            "等了": 1.5,
            "技术支持": 3,
            "没人管": 3,
            "联系不上": 3,
            "不理": 2,
            "机器人": 1.5,
        },
    },
    "competitor": {
        "en": {
            "switch*": 2.5,
            "moving to": 3,
            "moved to": 3,
            "move to": 2.5,
            "migrat*": 2.5,
            "competitor*": 3,
            "alternative*": 2,
            "another tool": 2.5,
            "another product": 2.5,
            "another provider": 2.5,
            "another service": 2.5,
            "other product": 2,
            "went with": 3,
            "going with": 3,
            "found a better": 3,
            "better option": 2.5,
            "better deal": 2,
            "replac*": 1.5,
            "using instead": 3,
            "instead": 1,
            "our company chose": 2.5,
            "standardi*": 2,
            "rival": 2.5,
        },
        "zh-hans": {
            "换成": 3,
            "换到": 3,
            "换用": 3,
            "改用": 3,
            "转用": 3,
            "迁移到": 3,
            "迁到": 3,
            "竞品": 3,
            "其他产品": 2.5,
            "别的产品": 2.5,
            "别家": 3,
            "另一个": 2,
            "更好的": 1.5,
            "替代": 2,
            "换了": 2.5,
            "换一个": 2.5,
            "选择了": 1.5,
            "公司统一": 2,
        },
    },
    "missing_features": {
        "en": {
            "missing": 2.5,
            "lack*": 2.5,
            "feature*": 2,
            "integrat*": 2.5,
            "doesn't have": 2,
            "does not have": 2,
            "doesn't support": 2.5,
            "no support for": 2.5,
            "wish it had": 3,
            "api": 2,
            "export*": 2,
            "roadmap": 2,
            "can't do": 1.5,
            "couldn't do": 1.5,
            "no way to": 2.5,
            "need a": 1,
            "needed a": 1,
            "offline mode": 2.5,
            "mobile app": 2,
            "dark mode": 2,
            "sso": 2.5,
            "report*": 1,
            "not available": 1.5,
            "bulk": 2,
            "custom field*": 2.5,
            "permission*": 1.5,
            "calendar": 1.5,
            "sync with": 2,
            "view": 0.5,
        },
        "zh-hans": {
            "缺少": 3,
            "缺": 1.5,
            "功能": 2,
            "不支持": 3,
            "集成": 2.5,
            "对接": 2.5,
            "导出": 2.5,
            "接口": 2,
            "api": 2,
            "希望有": 3,
            "没有这个": 2,
            "少了": 2,
            "需要的": 1,
            "移动端": 2,
            "手机版": 2,
            "离线": 2,
            "报表": 1.5,
            "批量": 2.5,
            "需求": 2,
            "自定义": 2,
            "权限": 1.5,
            "中文界面": 2.5,
        },
    },
    "too_complex": {
        "en": {
            "complicated": 3,
            "complic*": 2.5,
            "complex": 2.5,
            "confusing": 3,
            "hard to use": 3,
            "difficult": 2,
            "learning curve": 3,
            "too many steps": 3,
            "not intuitive": 3,
            "unintuitive": 3,
            "overwhelming": 3,
            "clunky": 2.5,
            "couldn't figure": 3,
            "can't figure": 3,
            "setup": 1.5,
            "set up": 1.5,
            "onboarding": 1.5,
            "steep": 2,
            "too many options": 3,
            "cluttered": 2.5,
            "lost in": 1.5,
            "hard to learn": 3,
        },
        "zh-hans": {
            "复杂": 3,
            "难用": 3,
            "不会用": 3,
            "看不懂": 3,
            "麻烦": 2,
            "繁琐": 3,
            "学习成本": 3,
            "上手难": 3,
            "不直观": 3,
            "操作": 1,
            "搞不懂": 3,
            "太多步骤": 3,
            "门槛": 2,
            "设置": 1,
            "配置": 1.5,
            "难上手": 3,
        },
    },
    "not_needed": {
        "en": {
            "don't need": 3,
            "no longer need": 3,
            "not using": 2.5,
            "don't use": 2.5,
            "rarely use": 3,
            "barely use": 3,
            "hardly use": 3,
            "project ended": 3,
            "project is over": 3,
            "project finished": 3,
            "seasonal": 2.5,
            "break": 1.5,
            "pause": 1,
            "temporar*": 2,
            "not needed": 3,
            "no need": 2.5,
            "shutting down": 2.5,
            "closed my business": 3,
            "closing": 1.5,
            "retir*": 2,
            "no time": 2,
            "busy": 1.5,
            "not enough use": 3,
            "haven't used": 3,
            "forgot": 2,
            "for now": 1.5,
            "don't have time": 2.5,
            "use it less": 3,
        },
        "zh-hans": {
            "不需要": 3,
            "用不上": 3,
            "不用了": 3,
            "用得少": 3,
            "很少用": 3,
            "没怎么用": 3,
            "项目结束": 3,
            "暂时": 2,
            "暂停": 1.5,
            "没时间": 2,
            "不再需要": 3,
            "闲置": 3,
            "退休": 3,
            "关门": 3,
            "倒闭": 3,
            "不做了": 2.5,
            "用得越来越少": 3,
            "用得不多": 3,
            "用不到": 3,
            "忘了": 2,
            "没用过": 3,
            "以后再": 2,
            "先停": 2,
            "停一段时间": 2,
        },
    },
    "values": {
        "en": {
            "values": 3,
            "ethic*": 3,
            "privacy": 2.5,
            "politic*": 3,
            "stance": 2.5,
            "ceo": 2,
            "layoffs": 2,
            "environment*": 2,
            "sustainab*": 2.5,
            "ai training": 3,
            "train ai": 3,
            "trust": 2,
            "principles": 3,
            "boycott": 3,
            "tracking": 2,
            "sell our data": 3,
            "selling data": 3,
            "morally": 3,
            "don't agree": 2,
            "disagree": 2,
            "brand": 1.5,
        },
        "zh-hans": {
            "价值观": 3,
            "隐私": 2.5,
            "道德": 3,
            "立场": 3,
            "政治": 3,
            "信任": 2,
            "数据安全": 2,
            "环保": 2.5,
            "追踪": 2,
            "抵制": 3,
            "可持续": 2.5,
            "碳中和": 2.5,
            "裁员": 2.5,
            "不同意": 2,
            "数据使用": 2,
            "不认同": 3,
            "理念": 2.5,
            "品牌": 1.5,
            "出卖": 2.5,
            "用户数据": 2,
        },
    },
}

_NEGATOR_EN = re.compile(
    r"(?:\bnot|\bno|\bnever|n't|\bnothing wrong with|\bno problem with|\bno issue with)"
    r"(?:\s+\w+){0,2}\s*$"
)
_NEGATOR_ZH = re.compile(r"(?:不|没|没有|并不|不是|并非|无)[^,。]{0,1}$")
_REASSURED_EN = re.compile(
    r"^\s*(?:\w+\s+){0,2}(?:is|was|are|were|'s|seems|seemed)?\s*"
    r"(?:fine|ok|okay|good|great|reasonable|fair|not (?:the|an?) (?:problem|issue)|no problem)\b"
)
_REASSURED_ZH = re.compile(r"^.{0,4}(?:还行|还可以|没问题|不错|挺好|合理|可以接受|不是问题|ok)")
_LATIN = re.compile(r"[a-z0-9]")


@dataclass(frozen=True)
class Phrase:
    text: str
    category: str
    weight: float


@dataclass(frozen=True)
class Lexicon:
    """Phrases for one locale compiled into one pattern (longest first)."""

    pattern: re.Pattern[str] | None
    phrases: dict[str, Phrase]
    prefixes: tuple[Phrase, ...]


def _piece(phrase: str) -> str:
    stem = phrase.rstrip("*")
    body = re.escape(stem) + (r"\w*" if phrase.endswith("*") else "")
    start = r"\b" if _LATIN.match(stem[:1]) else ""
    end = r"\b" if _LATIN.match(stem[-1:]) and not phrase.endswith("*") else ""
    return start + body + end


def compile_lexicon(phrases: Iterable[Phrase]) -> Lexicon:
    by_text: dict[str, Phrase] = {}
    for phrase in phrases:
        if phrase.weight <= 0 or not phrase.text.strip():
            continue
        key = normalize(phrase.text)
        if key not in by_text or by_text[key].weight < phrase.weight:
            by_text[key] = Phrase(key, phrase.category, phrase.weight)
    if not by_text:
        return Lexicon(None, {}, ())
    ordered = sorted(by_text, key=lambda t: -len(t.rstrip("*")))
    pattern = re.compile("|".join(f"(?:{_piece(text)})" for text in ordered))
    prefixes = tuple(p for p in by_text.values() if p.text.endswith("*"))
    return Lexicon(pattern, by_text, prefixes)


def default_phrases(locale: str) -> list[Phrase]:
    """The default lexicon for a locale. English phrases apply to every text
    (people mix languages); Chinese ones to every text too, since they cannot
    match Latin text by accident."""
    del locale
    return [
        Phrase(text, category, weight)
        for category, by_locale in DEFAULT_LEXICON.items()
        for phrases in by_locale.values()
        for text, weight in phrases.items()
    ]


def _lookup(lexicon: Lexicon, matched: str) -> Phrase | None:
    found = lexicon.phrases.get(matched)
    if found is not None:
        return found
    for phrase in lexicon.prefixes:
        if matched.startswith(phrase.text.rstrip("*")):
            return phrase
    return None


# "No dark mode", "不能导出": for a missing feature the negation is the message.
_NEGATION_IS_THE_POINT = {"missing_features"}


def _negated(clause: str, start: int, end: int, category: str) -> bool:
    before, after = clause[:start], clause[end:]
    if category not in _NEGATION_IS_THE_POINT and (
        _NEGATOR_EN.search(before) or _NEGATOR_ZH.search(before)
    ):
        return True
    return bool(_REASSURED_EN.match(after) or _REASSURED_ZH.match(after))


def rule_scores(text: str, lexicon: Lexicon) -> dict[str, float]:
    """Score per category from the phrases found in ``text``."""
    scores: dict[str, float] = {}
    if lexicon.pattern is None:
        return scores
    for clause, after_contrast in clauses(normalize(text)):
        boost = 1.5 if after_contrast else 1.0
        for match in lexicon.pattern.finditer(clause):
            phrase = _lookup(lexicon, match.group())
            if phrase is None or _negated(clause, match.start(), match.end(), phrase.category):
                continue
            scores[phrase.category] = scores.get(phrase.category, 0.0) + phrase.weight * boost
    return scores
