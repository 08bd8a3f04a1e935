"""The default churn-reason taxonomy and the default exit survey's wording.

Categories follow the usual reasons customers leave (price, product quality,
service, a competitor, missing features, complexity, no longer needed, values),
each mapped to Stripe's ``cancellation_details.feedback`` value.
"""

from __future__ import annotations

from django.utils.functional import Promise
from django.utils.translation import gettext_lazy as _

# code -> (position, stripe feedback)
CATEGORIES: dict[str, tuple[int, str]] = {
    "price": (1, "too_expensive"),
    "product_quality": (2, "low_quality"),
    "customer_service": (3, "customer_service"),
    "competitor": (4, "switched_service"),
    "missing_features": (5, "missing_features"),
    "too_complex": (6, "too_complex"),
    "not_needed": (7, "unused"),
    "values": (8, "other"),
    "other": (9, "other"),
}

CATEGORY_LABELS: dict[str, Promise] = {
    "price": _("Price"),
    "product_quality": _("Product quality"),
    "customer_service": _("Customer service"),
    "competitor": _("Competitor"),
    "missing_features": _("Missing features"),
    "too_complex": _("Too complex"),
    "not_needed": _("Not needed now"),
    "values": _("Values"),
    "other": _("Other"),
}


def category_label(code: str) -> Promise | str:
    return CATEGORY_LABELS.get(code, code)


DEFAULT_QUESTION = {
    "en": "Why are you cancelling?",
    "zh-hans": "您为什么要取消订阅？",
    "de": "Warum möchten Sie kündigen?",
}

# (code, category, label per locale, follow-up prompt per locale, text mode)
DEFAULT_REASONS: list[tuple[str, str, dict[str, str], dict[str, str], str]] = [
    (
        "too_expensive",
        "price",
        {"en": "It's too expensive", "zh-hans": "价格太贵了", "de": "Es ist mir zu teuer"},
        {
            "en": "What price would have felt fair?",
            "zh-hans": "什么价格您会觉得合适？",
            "de": "Welcher Preis wäre für Sie fair gewesen?",
        },
        "optional",
    ),
    (
        "not_using",
        "not_needed",
        {
            "en": "I'm not using it enough right now",
            "zh-hans": "最近用得不多",
            "de": "Ich nutze es derzeit zu wenig",
        },
        {
            "en": "What changed for you?",
            "zh-hans": "是什么发生了变化？",
            "de": "Was hat sich bei Ihnen geändert?",
        },
        "optional",
    ),
    (
        "switching",
        "competitor",
        {
            "en": "I'm switching to another product",
            "zh-hans": "我要换用其他产品",
            "de": "Ich wechsle zu einem anderen Produkt",
        },
        {
            "en": "Which one, and what made you choose it?",
            "zh-hans": "换成哪个产品？为什么选择它？",
            "de": "Zu welchem, und warum haben Sie es gewählt?",
        },
        "optional",
    ),
    (
        "missing_feature",
        "missing_features",
        {
            "en": "It's missing something I need",
            "zh-hans": "缺少我需要的功能",
            "de": "Mir fehlt etwas, das ich brauche",
        },
        {
            "en": "What were you missing?",
            "zh-hans": "您需要什么功能？",
            "de": "Was hat Ihnen gefehlt?",
        },
        "optional",
    ),
    (
        "quality",
        "product_quality",
        {
            "en": "It doesn't work well enough (bugs, slowness)",
            "zh-hans": "产品不好用（有故障、太慢）",
            "de": "Es funktioniert nicht gut genug (Fehler, Langsamkeit)",
        },
        {"en": "What went wrong?", "zh-hans": "遇到了什么问题？", "de": "Was ist schiefgelaufen?"},
        "optional",
    ),
    (
        "too_complex",
        "too_complex",
        {"en": "It's too hard to use", "zh-hans": "用起来太复杂", "de": "Es ist zu kompliziert"},
        {
            "en": "Where did you get stuck?",
            "zh-hans": "您在哪里遇到了困难？",
            "de": "Wo sind Sie nicht weitergekommen?",
        },
        "optional",
    ),
    (
        "support",
        "customer_service",
        {
            "en": "I had a bad experience with support",
            "zh-hans": "客服体验不好",
            "de": "Ich hatte eine schlechte Erfahrung mit dem Support",
        },
        {"en": "What happened?", "zh-hans": "发生了什么？", "de": "Was ist passiert?"},
        "optional",
    ),
    (
        "values",
        "values",
        {
            "en": "I don't agree with the company's direction",
            "zh-hans": "我不认同公司的理念或方向",
            "de": "Ich bin mit der Ausrichtung des Unternehmens nicht einverstanden",
        },
        {
            "en": "Would you tell us more?",
            "zh-hans": "可以多说一些吗？",
            "de": "Möchten Sie uns mehr erzählen?",
        },
        "optional",
    ),
    (
        "other",
        "other",
        {"en": "Something else", "zh-hans": "其他原因", "de": "Etwas anderes"},
        {
            "en": "Please tell us why",
            "zh-hans": "请告诉我们原因",
            "de": "Bitte sagen Sie uns, warum",
        },
        "optional",
    ),
]
