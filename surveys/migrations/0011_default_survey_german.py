"""The default survey in German, and its Chinese with full-width punctuation
(issue 18), for default surveys made before: only wording still as it was made
is touched; a team's own edits are left alone. A changed survey's version goes
up, so the cached reasons are read afresh."""

from django.db import migrations
from django.db.models import F

# Frozen copies of surveys.taxonomy at the time of this migration:
# English -> (the Chinese it was made with, the Chinese now, the German).
QUESTION = {
    "Why are you cancelling?": ("您为什么要取消订阅?", "您为什么要取消订阅？", "Warum möchten Sie kündigen?"),
}
TEXTS = {
    "It's too expensive": ("价格太贵了", "价格太贵了", "Es ist mir zu teuer"),
    "What price would have felt fair?": (
        "什么价格您会觉得合适?",
        "什么价格您会觉得合适？",
        "Welcher Preis wäre für Sie fair gewesen?",
    ),
    "I'm not using it enough right now": ("最近用得不多", "最近用得不多", "Ich nutze es derzeit zu wenig"),
    "What changed for you?": ("是什么发生了变化?", "是什么发生了变化？", "Was hat sich bei Ihnen geändert?"),
    "I'm switching to another product": (
        "我要换用其他产品",
        "我要换用其他产品",
        "Ich wechsle zu einem anderen Produkt",
    ),
    "Which one, and what made you choose it?": (
        "换成哪个产品?为什么选择它?",
        "换成哪个产品？为什么选择它？",
        "Zu welchem, und warum haben Sie es gewählt?",
    ),
    "It's missing something I need": (
        "缺少我需要的功能",
        "缺少我需要的功能",
        "Mir fehlt etwas, das ich brauche",
    ),
    "What were you missing?": ("您需要什么功能?", "您需要什么功能？", "Was hat Ihnen gefehlt?"),
    "It doesn't work well enough (bugs, slowness)": (
        "产品不好用(有故障、太慢)",
        "产品不好用（有故障、太慢）",
        "Es funktioniert nicht gut genug (Fehler, Langsamkeit)",
    ),
    "What went wrong?": ("遇到了什么问题?", "遇到了什么问题？", "Was ist schiefgelaufen?"),
    "It's too hard to use": ("用起来太复杂", "用起来太复杂", "Es ist zu kompliziert"),
    "Where did you get stuck?": (
        "您在哪里遇到了困难?",
        "您在哪里遇到了困难？",
        "Wo sind Sie nicht weitergekommen?",
    ),
    "I had a bad experience with support": (
        "客服体验不好",
        "客服体验不好",
        "Ich hatte eine schlechte Erfahrung mit dem Support",
    ),
    "What happened?": ("发生了什么?", "发生了什么？", "Was ist passiert?"),
    "I don't agree with the company's direction": (
        "我不认同公司的理念或方向",
        "我不认同公司的理念或方向",
        "Ich bin mit der Ausrichtung des Unternehmens nicht einverstanden",
    ),
    "Would you tell us more?": ("可以多说一些吗?", "可以多说一些吗？", "Möchten Sie uns mehr erzählen?"),
    "Something else": ("其他原因", "其他原因", "Etwas anderes"),
    "Please tell us why": ("请告诉我们原因", "请告诉我们原因", "Bitte sagen Sie uns, warum"),
}


def _updated(texts, known):
    """The per-locale texts with German added and the Chinese made full-width,
    or None when they are not the default wording (or already done)."""
    if not isinstance(texts, dict) or texts.get("en") not in known:
        return None
    made_zh, zh, de = known[texts["en"]]
    result = dict(texts)
    if result.get("zh-hans") == made_zh:
        result["zh-hans"] = zh
    result.setdefault("de", de)
    return result if result != texts else None


def default_survey_german(apps, schema_editor):
    Survey = apps.get_model("surveys", "Survey")
    Reason = apps.get_model("surveys", "Reason")
    for survey in Survey.objects.filter(is_default=True).only("pk", "question"):
        changed = False
        question = _updated(survey.question, QUESTION)
        if question is not None:
            Survey.objects.filter(pk=survey.pk).update(question=question)
            changed = True
        for reason in Reason.objects.filter(survey_id=survey.pk).only("pk", "label", "follow_up"):
            label = _updated(reason.label, TEXTS)
            follow_up = _updated(reason.follow_up, TEXTS)
            fields = {}
            if label is not None:
                fields["label"] = label
            if follow_up is not None:
                fields["follow_up"] = follow_up
            if fields:
                Reason.objects.filter(pk=reason.pk).update(**fields)
                changed = True
        if changed:
            Survey.objects.filter(pk=survey.pk).update(version=F("version") + 1)


class Migration(migrations.Migration):
    dependencies = [("surveys", "0010_personal_data_erasure")]
    operations = [migrations.RunPython(default_survey_german, migrations.RunPython.noop)]
