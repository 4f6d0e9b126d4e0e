"""JSON columns are written by orjson, or by the standard library where orjson refuses:
every value reads back as the standard library's text of it would, and what the standard
library refuses is still refused."""

import dataclasses
import datetime
import enum
import json

import pytest

from services.common.database import json_text


class Tier(enum.StrEnum):
    A = "A"


@dataclasses.dataclass
class Point:
    x: int


VALUES = [
    {"scarce_brand_supply": {"tier": "A", "visits_a_month": 3}, "free_phone_ordering": {"channels": ["x"]}},
    ["g-12", "g-3"],
    ("e-1", "e-2"),
    {"grade": "r-1", "star_level": "r-2"},
    {"名称": "零售户", "emoji": "🚬", "nul": "a\x00b", "quote": '"\\'},
    [0, -1, 2**63 - 1, -(2**63), 2**64, 10**30, 0.1, 1e16, 1e-7, -0.0, 5e-324, 1.7976931348623157e308],
    {1: "int key", None: "none key", 2.5: "float key"},
    {True: "bool key", False: "another"},
    {"nested": [[[]], {}, {"a": [None, False, True]}]},
    {"surrogate": "\ud800"},
    Tier.A,
    {"tier": Tier.A},
    "",
    None,
]


@pytest.mark.parametrize("value", VALUES, ids=range(len(VALUES)))
def test_a_value_reads_back_as_the_standard_librarys_text_of_it(value):
    assert json.loads(json_text(value)) == json.loads(json.dumps(value))


def test_what_the_standard_library_refuses_is_still_refused():
    for value in (datetime.datetime(2026, 1, 1), Point(1), {"at": datetime.date(2026, 1, 1)}, {(1, 2): "x"}):
        with pytest.raises(TypeError):
            json.dumps(value)
        with pytest.raises(TypeError):
            json_text(value)
