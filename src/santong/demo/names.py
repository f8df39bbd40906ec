"""Synthetic Chinese names for the demo population: people, towns and villages.

Everything is drawn from a `random.Random` the caller seeds, so the same seed gives the same
names in the same order. Surnames are weighted roughly by how common they are in Sichuan;
given names are one or two characters from separate tables for boys and girls.
"""

import bisect
import itertools
import random

# (surname, relative frequency): the most common surnames, with Sichuan's large families
# (李, 王, 张, 刘, 陈, 杨, and the 罗/何/邓/曾/彭/唐 that are more common there than nationally).
_SURNAME_WEIGHTS: tuple[tuple[str, int], ...] = (
    ("李", 790),
    ("王", 730),
    ("张", 700),
    ("刘", 560),
    ("陈", 520),
    ("杨", 380),
    ("黄", 250),
    ("赵", 230),
    ("吴", 210),
    ("周", 210),
    ("罗", 200),
    ("何", 190),
    ("徐", 170),
    ("邓", 170),
    ("曾", 160),
    ("彭", 160),
    ("唐", 160),
    ("孙", 150),
    ("胡", 150),
    ("朱", 140),
    ("高", 130),
    ("林", 120),
    ("郭", 120),
    ("马", 110),
    ("谢", 110),
    ("冯", 100),
    ("宋", 90),
    ("郑", 90),
    ("袁", 90),
    ("蒋", 90),
    ("余", 90),
    ("杜", 80),
    ("任", 80),
    ("廖", 80),
    ("熊", 80),
    ("肖", 80),
    ("田", 70),
    ("梁", 70),
    ("韩", 70),
    ("曹", 70),
    ("许", 70),
    ("邹", 70),
    ("苏", 60),
    ("叶", 60),
    ("吕", 60),
    ("魏", 60),
    ("蔡", 60),
    ("程", 60),
    ("丁", 50),
    ("沈", 50),
    ("姚", 50),
    ("卢", 50),
    ("钟", 50),
    ("谭", 50),
    ("汪", 40),
    ("范", 40),
    ("付", 40),
    ("雷", 40),
    ("龙", 40),
    ("赖", 30),
    ("侯", 30),
    ("向", 30),
    ("夏", 30),
    ("贾", 30),
    ("石", 30),
    ("董", 30),
    ("江", 30),
    ("秦", 30),
    ("严", 30),
    ("文", 30),
    ("万", 30),
    ("易", 30),
    ("尹", 20),
    ("黎", 20),
    ("毛", 20),
    ("邱", 20),
    ("龚", 20),
    ("牟", 20),
    ("敬", 10),
    ("税", 10),
    ("欧阳", 5),
    ("诸葛", 2),
    ("司马", 2),
    ("上官", 2),
)
_SURNAMES = tuple(name for name, _ in _SURNAME_WEIGHTS)
_SURNAME_CUMULATIVE = tuple(itertools.accumulate(weight for _, weight in _SURNAME_WEIGHTS))
_SURNAME_TOTAL = _SURNAME_CUMULATIVE[-1]

_BOY_CHARACTERS = (
    "伟强磊军勇杰涛斌超明刚平辉鹏华飞鑫波宇浩凯健俊帆旭宁龙林阳晨博文轩睿子然航泽瑞鸿煜铭"
    "梓皓天一嘉思宏志建国庆海峰成兵亮东春新正锐诚毅豪彬晟霖宸逸"
)
_GIRL_CHARACTERS = (
    "芳娜敏静丽艳娟霞秀玲英梅琳燕婷雪倩颖慧佳欣怡雨涵诗梦琪萱悦可馨妍彤晴瑶思婉子嘉一文雅"
    "蕾璐晓红兰春月茜露洁蓉薇语汐沫"
)

# Characters real Sichuan town and village names are built from (龙泉, 石桥, 白沙, 清溪 ...).
_PLACE_FIRST = "龙凤金石白清双新永太福三五高黄青长平安兴大小东西南北红桂柳花马牛竹桃古观"
_PLACE_SECOND = "泉江桥山河坝溪场池林堰湾岭田寺水岗口庙滩沟坪湖庄园岩塘垭"


def surname(rng: random.Random) -> str:
    return _SURNAMES[bisect.bisect(_SURNAME_CUMULATIVE, rng.random() * _SURNAME_TOTAL)]


def given_name(rng: random.Random, *, male: bool) -> str:
    """One character a quarter of the time, two otherwise, as in names given since the 1980s."""
    table = _BOY_CHARACTERS if male else _GIRL_CHARACTERS
    if rng.random() < 0.25:
        return rng.choice(table)
    return rng.choice(table) + rng.choice(table)


def full_name(rng: random.Random, *, male: bool, family_name: str | None = None) -> str:
    return (family_name or surname(rng)) + given_name(rng, male=male)


def place_name(rng: random.Random) -> str:
    """A two-character town or village name such as 石桥 or 清溪."""
    return rng.choice(_PLACE_FIRST) + rng.choice(_PLACE_SECOND)
