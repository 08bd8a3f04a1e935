"""Answers that say nothing about why someone leaves, in both languages.

Every model learns them as "other", next to the workspace's own labels: a
workspace's labels come from chosen reasons, which never include "I don't
know", so without these a model would have no way to say it and would put
"ok" or a keyboard mash in a real category. (None of them is in the held-out
file; a test checks.)
"""

from __future__ import annotations

import re

# An off-topic story: a moment of someone's life ("yesterday", "上周", "周末", "in
# June") with nothing about the product, its price, its people or their work in
# it ("we adopted a puppy last week...", "周末带孩子去公园放风筝"), nor an event that
# is a reason (closing the shop, moving, retiring), nor a word of price or speed
# or of an outage ("今天又贵了", "上个月停机了好几次"). When no strong phrase speaks
# for a reason, the rules count it as "other" (``story_weight``).
_STORY = re.compile(
    r"昨天|昨晚|今天|今早|前天|上周|这周|上个月|上礼拜|周末|周[一二三四五六日]|星期"
    r"|[一二三四五六七八九十]+月份?"
    r"|早上|晚上|假期|放假|度假|夏天|冬天|刚才|刚刚|明天|后天|中午|下午|凌晨"
    r"|过年|春节|国庆|中秋|端午|元旦|圣诞"
    r"|\b(?:yesterday|today|tonight|last (?:week|night|weekend|month|year)"
    r"|this (?:morning|week|weekend|summer|winter)"
    r"|on (?:monday|tuesday|wednesday|thursday|friday|saturday|sunday)|weekend|holiday|vacation"
    r"|in (?:january|february|march|april|may|june|july|august|september|october|november"
    r"|december))\b"
)
# A moment of daily life named without a date: relatives, pets, meals, sport and
# hobbies, weather, the commute ("my cat knocked over a glass", "晚上吃火锅").
# Not children: a child born or grown up is often the reason ("孩子出生了,没精力").
_DAILY_LIFE = re.compile(
    r"妈妈|爸爸|老婆|老公|儿子|女儿|爷爷|奶奶|外婆|姥姥|叔叔|阿姨|舅舅|姐姐|妹妹|哥哥|弟弟"
    r"|猫|狗|吃饭|早饭|午饭|晚饭|火锅|奶茶|咖啡|包子|饺子|面条|做饭|下雨|下雪|天气|好热|好冷"
    r"|地铁|公交|堵车|爬山|跑步|钓鱼|足球|篮球|电影|电视剧|演唱会|游戏|旅游|相亲|结婚|生日|头发"
    r"|作业|考试|数学|语文|减肥|健身|感冒|发烧|咳嗽|牙疼|头疼|失眠|睡觉|好困|饿了|中奖|彩票"
    r"|金鱼|鱼缸|花开|浇花|世界杯|球赛|宝宝|小区|邻居"
    r"|\b(?:mom|mum|dad|wife|husband|son|daughter|grandma|grandpa|uncle|aunt|cousin"
    r"|sister|brother|neighbou?rs?|cat|dog|puppy|kitten|breakfast|lunch|dinner|pizza|pasta|coffee"
    r"|tea|bread|cake|bak(?:e|ed|ing)|cook(?:ed|ing)?|rain(?:ed|ing|s)?|snow(?:ed|ing|s)?"
    r"|weather|sunny|traffic|train|bus|football|soccer|basketball|baseball|tennis|golf|fishing"
    r"|hiking|running|gym|movie|film|tv|show|season|episode|concert|wedding|birthday|haircut"
    r"|dentist|garden|homework|exams?|maths?|headache|flu|fever|plants?|flowers?|fish"
    r"|hamster|rabbit|birds?|lottery|tooth|teeth)\b"
)
# Things of everyday life that are bought or break at home: when one of them is
# named, a word of price, speed or breaking is about it, not about the product
# ("猪肉又涨价了", "外卖送得太慢", "the elevator is broken", "groceries are so
# expensive").
_EVERYDAY_THINGS = re.compile(
    r"外卖|快递|超市|菜市场|买菜|蔬菜|水果|猪肉|牛肉|鸡蛋|油价|加油站|电梯|空调|冰箱|洗衣机|热水器"
    r"|电视(?!剧)|鞋|衣服|裤子|雨伞|沙发|房价|股票|基金"
    r"|\b(?:groceries|grocery|gas prices?|petrol|fuel|car|bike|elevator|lift|fridge|shoes?"
    r"|umbrella|washing machine|dishwasher|stocks?|house prices?|eggs|vegetables|restaurant)\b"
)
# Words that name the product, its people, the customer's work, or a change of
# life: a story with one of them in it is a reason told with a date.
_ABOUT_THE_PRODUCT = re.compile(
    r"你们|产品|软件|系统|工具|平台|功能|账号|账户|订阅|续费|客服|服务|回复|工单|用|应用|网站"
    r"|数据|团队|公司|项目|业务|店|生意|工作|客户|出生|怀孕|精力|没空|没时间|退休"
    r"|忙|需要|需求|预算|经费|收入|失业|学校|上学|毕业|课程|培训"
    r"|\b(?:you|your|it|this|app|tool|software|service|support|account|subscription|renewal"
    r"|ticket|team|company|business|project|product|data|customers?|clients?|work|job"
    r"|uses?|used|using|need|needed|shop|store|studio|closed|closing|shut|moved|moving"
    r"|retired|retiring|passed away|died|born|pregnan\w*|no time|busy|school)\b"
)
# A word of price, speed or an outage: about the product ("今天又贵了", "上个月停机了
# 好几次") unless an everyday thing is named.
_COMPLAINT = re.compile(
    r"价|钱|费|贵|便宜|涨|慢|卡|闪退|崩|停机|宕机|掉线|打不开|登录|加载|同步|报错"
    r"|\b(?:pric\w*|pay\w*|costs?|fees?|expensive|cheap\w*|slow|crash\w*|bugs?|outages?"
    r"|downtime|sync\w*)\b"
)
# A sports team is not the customer's team.
_SPORTS_TEAM = re.compile(
    r"\b(?:football|soccer|basketball|baseball|hockey|rugby|cricket|volleyball|school) team\b|球队"
)
# Below this rule score for a real category, a story counts as "other": a single
# strong word ("broke", "too slow") in a story that names nothing of the product
# is about the story ("my shoelace broke running for the train").
STORY_STRONG = 3.5
STORY_WEIGHT = 3.0


def story_weight(normalized: str) -> float:
    """STORY_WEIGHT for an off-topic story (normalised text), else 0."""
    everyday = _EVERYDAY_THINGS.search(normalized)
    if not (everyday or _STORY.search(normalized) or _DAILY_LIFE.search(normalized)):
        return 0.0
    # "this morning" is a time, not "this app"; a football team not the customer's.
    rest = _STORY.sub(" ", _SPORTS_TEAM.sub(" ", normalized))
    if _ABOUT_THE_PRODUCT.search(rest) or (not everyday and _COMPLAINT.search(rest)):
        return 0.0
    return STORY_WEIGHT


# Whole answers that say nothing: the name of the "Other" choice itself, a filler
# word, or no word at all (punctuation, emoji, digits). Only the whole answer:
# "other tools do it better" is a reason, "other" is not.
_WHOLE_NON_ANSWERS = frozenset(
    {
        "other", "others", "other reason", "stuff", "things", "misc", "etc", "same",
        "its complicated", "it's complicated", "just because", "idk", "no idea", "pass",
        "skip", "next", "nvm", "nevermind", "never mind", "mood", "vibes", "bored",
        "其他", "其他原因", "别的", "略", "如题", "无", "没", "不", "懒", "你猜", "秘密",
        "emmm", "em", "嗯", "哦", "额", "呃", "唉", "done", "all done",
        "累了", "好累", "困了", "心累",
    }
)  # fmt: skip
_NO_WORD = re.compile(r"[\W\d_]*")
# Praise and nothing else ("挺好的", "很满意", "great", "five stars"): no reason to leave in it.
_PRAISE_ONLY = re.compile(
    r"(?:整体|总体|总的来说|其实|都|还|也|真的?|非常|很|挺|蛮|特别|超级?|太)*"
    r"(?:好|不错|满意|好用|棒|赞|可以|完美)"
    r"(?:的|啊|呀|哦|吧|了|啦)*"
    r"|(?:(?:it'?s|it was|all|very|really|pretty|so|just) )*(?:great|good|nice|awesome|amazing"
    r"|excellent|perfect|fantastic|love it|loved it|five stars|5 stars|10/10|no complaints)"
)
# An answer made only of filler: interjections and particles, yes / no / OK and
# "nothing (more)" in any order and number ("嗯嗯好吧", "哦哦哦", "好好好", "没有啦",
# "暂时没有", "对对对", "不不不", "ok ok", "yeah nah"), Chinese numerals, laughter
# in letters ("hhh", "233") or a keyboard's repeated key.
#
# Read as words taken longest first, each once (possessive ``++``, ``*+``): where
# a word could also be read as shorter ones ("okk" as "ok" + "k", "1111" as
# "11" + "11"), trying every reading costs time exponential in the answer's
# length (30 ones: minutes), and an answer is a customer's input. Longer words
# therefore come before the words they start with ("没有" before "没"), and
# laughter is read a syllable at a time ("h", "ha", "he", "hi": "hhha", "hehe").
_FILLER = re.compile(
    r"(?:没有|暂无|暂时|目前|就是|就|这样|那样|可以|收到|了解|知道|明白|还行|一般般|一般"
    r"|凑合|马马虎虎|什么"
    r"|嗯|哦|噢|喔|啊|呀|哈|嘿|嘻|呵|额|呃|唉|哎|哟|唔|咦|哇|啦|吧|呢|嘛|么|吗|了|的|哒|滴"
    r"|好|行|对|是|不|没|无|都|也|还|啥|[一二三四五六七八九十零]"
    r"|okay|okk|ok|k|yes|yeah|yep|yup|ya|nope|nah|no|sure|alright|cool|fine|so|well"
    r"|um++|u++h|e++r++m*+|e++m++|h++m++|h[aei]?|m{2,}+|lol|xd|233++|6{2,}+|8{2,}+"
    r"|0++|1++|[\s\W_])++"
)
# Not being able to say or think of it, and nothing else ("说不上来", "暂时想不到",
# "想了半天也没想出来", "很难讲", "记不清了", "不用问了"); "想不到这么贵" says more.
_CANNOT_SAY = re.compile(
    r"(?:我|也|还|就|真|真的|实在|暂时|目前|一时|一下子|现在|想了半天|半天|这个|其实)*"
    r"(?:(?:想|说|讲|写|记|形容|描述)(?:不|没)太?(?:出|起|上|清|好|到|来)"
    r"|没有?(?:想|说|记)(?:出|起|好|清|到)?|很?难(?:讲|说)|不好(?:讲|说)|不用问)"
    r"(?:来|了|啦|呢|吧|楚|什么|啥|原因|理由|的)*"
)
# One short piece repeated: "啦啦啦", "abcabc", "jjjj", "哈哈哈哈".
_REPEATED = re.compile(r"(.{1,3}?)\1{2,}")
NON_ANSWER_WEIGHT = 6.0


def non_answer_weight(normalized: str) -> float:
    """NON_ANSWER_WEIGHT when the whole (normalised) answer says nothing, else 0."""
    bare = re.sub(r"[\s\W_]+$|^[\s\W_]+", "", normalized)
    if (
        bare in _WHOLE_NON_ANSWERS
        or _NO_WORD.fullmatch(normalized)
        or _FILLER.fullmatch(normalized)
        or _PRAISE_ONLY.fullmatch(bare)
        or _CANNOT_SAY.fullmatch(re.sub(r"[\s\W_]+", "", bare))
    ):
        return NON_ANSWER_WEIGHT
    return 0.0


def repeated_weight(normalized: str) -> float:
    """NON_ANSWER_WEIGHT when the whole answer is one short piece said over and
    over ("啦啦啦", "abcabc"); the rules count it only when no strong phrase
    speaks for a reason ("贵贵贵" is about the price)."""
    if _REPEATED.fullmatch(re.sub(r"[\s\W_]+", "", normalized)):
        return NON_ANSWER_WEIGHT
    return 0.0


NON_ANSWERS: tuple[str, ...] = (
    # English: empty words, refusals, keyboard mashes, off-topic, the request itself
    "none",
    "nope",
    "nah",
    "n/a",
    "no answer",
    "nothing much",
    "nothing to say",
    "i don't know",
    "dunno",
    "not telling",
    "prefer not to say",
    "private",
    "it's personal",
    "whatever",
    "meh",
    "sure",
    "okay",
    "k",
    "yep",
    "xxx",
    "zzz",
    "aaaaa",
    "sdfsdf",
    "hjkl",
    "qwe",
    "asdasd",
    "1234",
    "0",
    "???",
    "!!!",
    "hi",
    "hello world",
    "testing",
    "this is a test",
    "just cancel",
    "cancel please",
    "cancel my account",
    "please just cancel it",
    "my dog likes walks",
    "I had pasta for lunch",
    "the train was late this morning",
    "my neighbour plays the drums",
    "happy new year",
    "thank you",
    "cheers",
    "bye bye",
    "no comment",
    "nothing else",
    "as I said",
    "see my previous message",
    "too many reasons to list",
    "a few things",
    "various",
    "doesn't matter now",
    "I just do",
    "because I want to",
    "I changed my mind",
    "mistake",
    "we spent the weekend at my in-laws and the weather was awful",
    "my son started school this week and he loves his teacher",
    "I watched a documentary about whales last night",
    "the bus was late again and I missed my appointment",
    "our garden is full of tomatoes this summer",
    "I went to a concert on Friday and lost my voice singing",
    "my car needs new tyres before the winter",
    "we are redecorating the living room, it's taking ages",
    # Chinese
    "无",
    "没有了",
    "没事",
    "没什么好说的",
    "不想回答",
    "不告诉你",
    "保密",
    "私人问题",
    "都行",
    "随意",
    "还行吧",
    "嗯",
    "嗯哼",
    "哦哦",
    "好吧",
    "行",
    "对",
    "啊",
    "哈哈哈",
    "呵呵",
    "666",
    "88",
    "。。",
    "???",
    "啦啦啦",
    "阿斯顿",
    "啊实打实",
    "测试一下",
    "试试",
    "你好啊",
    "早上好",
    "我中午吃了面条",
    "今天地铁很挤",
    "邻居家在装修",
    "我家猫很可爱",
    "春节快乐",
    "谢谢你们",
    "拜拜",
    "不想多说",
    "没有别的",
    "之前说过了",
    "原因太多了",
    "有些事",
    "反正就是要取消",
    "帮我取消",
    "取消订阅",
    "我想取消",
    "改变主意了",
    "弄错了",
    "周末去了岳父母家,天气特别差",
    "儿子这周开学了,很喜欢他的老师",
    "昨晚看了一部关于鲸鱼的纪录片",
    "公交车又晚点了,害我错过了预约",
    "今年夏天院子里的西红柿结了好多",
    "周五去听演唱会,嗓子都喊哑了",
    "入冬前车子得换新轮胎了",
    "我们在重新装修客厅,弄了好久",
)
