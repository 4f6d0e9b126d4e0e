"""Contract limits: the annotations in the .proto files, checked on any request message
(nested messages, repeated fields, maps, JSON-like Struct values), and the statuses that
report a violation stay small enough for any client to read."""

import base64
import math
import pathlib
import urllib.parse

import grpc
import pytest
from google.protobuf import struct_pb2, timestamp_pb2
from google.rpc import error_details_pb2
from retailcare.classification.v1 import classification_pb2 as cpb
from retailcare.complaints.v1 import complaints_pb2 as ppb
from retailcare.rules.v1 import rule_sets_pb2 as rpb

from services.common import limits, limits_page
from services.common.errors import InvalidArgument, NotFound, clip

MEGABYTE = "x" * 1_000_000


def _violations(message) -> dict[str, str]:
    return dict(limits.violations(message))


def test_a_good_request_passes():
    request = cpb.CreateCustomerRequest(
        customer=cpb.CustomerInput(
            licence_number="Ｌ－００１",
            name="王记便利店\tB",
            monthly_sales_cartons=120.5,
            contact_phone="020-1234",
        )
    )
    limits.check(request)  # full-width characters are printable; tabs are fine in free text


def test_declared_and_default_lengths():
    found = _violations(
        cpb.CreateCustomerRequest(
            customer=cpb.CustomerInput(licence_number="L" * 41, name="n" * 201, district="d" * 100)
        )
    )
    assert found == {
        "customer.licence_number": "at most 40 characters (got 41)",
        "customer.name": "at most 200 characters (got 201)",
    }
    # No annotation: the default maximum applies, to any contract.
    assert _violations(cpb.DeactivateCustomerRequest(reason=MEGABYTE)) == {
        "reason": "at most 1000 characters (got 1000000)"
    }
    assert set(_violations(rpb.GetRuleSetVersionRequest(rule_set=MEGABYTE))) == {"rule_set"}
    limits.check(rpb.PublishRuleSetRequest(source="#" * 200_000, author="li"))


@pytest.mark.parametrize(
    ("value", "identifier_ok", "free_text_ok"),
    [
        ("L-001", True, True),
        ("名称 (分店)", True, True),
        ("a\x00b", False, False),
        ("a\x1bb", False, False),
        ("a\x85b", False, False),  # a C1 control character
        ("line\nbreak", False, True),
        ("zero\u200bwidth", False, True),  # a format character
        ("smile😀", False, True),
        ("\U000f0000", False, True),  # private use
    ],
)
def test_identifiers_are_printable_free_text_has_no_control_characters(value, identifier_ok, free_text_ok):
    found = _violations(ppb.ChangeComplaintStateRequest(id=value, note=value))
    assert ("id" not in found) == identifier_ok, found
    assert ("note" not in found) == free_text_ok, found


def test_numbers_are_finite_and_within_their_range():
    found = _violations(
        cpb.CreateCustomerRequest(
            customer=cpb.CustomerInput(monthly_sales_cartons=math.inf, shop_area_m2=1e308)
        )
    )
    assert found == {
        "customer.monthly_sales_cartons": "must be a finite number",
        "customer.shop_area_m2": "must be between -1e+15 and 1e+15 (got 1e+308)",
    }
    assert _violations(rpb.GetRuleSetVersionRequest(rule_set="x", version=-1)) == {
        "version": "must be at least 0 (got -1)"
    }


def test_unknown_enum_numbers_are_refused_also_in_repeated_fields():
    found = _violations(
        ppb.ListComplaintsRequest(
            filter=ppb.ComplaintFilter(states=[ppb.RECEIVED, 99]),
        )
    )
    assert list(found) == ["filter.states[1]"] and found["filter.states[1]"].startswith(
        "unknown value 99 (known:"
    )
    found = _violations(cpb.ListCustomersRequest(filter=cpb.CustomerFilter(activity=7)))
    assert list(found) == ["filter.activity"]


def test_item_counts():
    found = _violations(ppb.ListComplaintsRequest(filter=ppb.ComplaintFilter(states=[ppb.RECEIVED] * 21)))
    assert found == {"filter.states": "at most 20 items (got 21)"}


@pytest.mark.parametrize(
    ("stamp", "why"),
    [
        (
            timestamp_pb2.Timestamp(seconds=-1),
            "must be between 1970-01-01T00:00:00Z and 2100-01-01T00:00:00Z",
        ),
        (
            timestamp_pb2.Timestamp(seconds=2**62),
            "must be between 1970-01-01T00:00:00Z and 2100-01-01T00:00:00Z",
        ),
        (
            timestamp_pb2.Timestamp(seconds=10, nanos=-1),
            "not a valid timestamp: nanos must be 0 to 999,999,999",
        ),
        (
            timestamp_pb2.Timestamp(seconds=10, nanos=10**9),
            "not a valid timestamp: nanos must be 0 to 999,999,999",
        ),
    ],
)
def test_timestamps_are_valid_and_within_the_window(stamp, why):
    request = ppb.GetComplaintStatisticsRequest()
    request.period_from.CopyFrom(stamp)
    assert _violations(request) == {"period_from": why}


def test_struct_values_are_checked_with_readable_paths():
    facts = struct_pb2.Struct()
    facts.update({"sales": 1e300, "nested": {"deep": [1, "a\x00"]}, "k" * 2000: 1})
    found = _violations(rpb.DryRunRuleSetRequest(rule_set="customer-grading", facts=facts))
    assert found['facts["sales"]'] == "must be between -1e+15 and 1e+15 (got 1e+300)"
    assert found['facts["nested"]["deep"][1]'].startswith("holds a control character (U+0000)")
    long_key = [path for path in found if path.startswith('facts["kkk')]
    assert long_key and len(long_key[0]) < 60  # a long key is cut in the path


def test_every_offending_field_is_listed_up_to_a_bound():
    request = cpb.ImportCustomersRequest(rows=[cpb.CustomerInput(name=MEGABYTE[:300]) for _ in range(50)])
    found = limits.violations(request)
    assert len(found) == limits.MAX_VIOLATIONS
    assert found[0] == ("rows[0].name", "at most 200 characters (got 300)")
    with pytest.raises(InvalidArgument) as refused:
        limits.check(request)
    assert refused.value.code == grpc.StatusCode.INVALID_ARGUMENT


def test_raw_bytes_are_left_to_whoever_parses_them():
    limits.check(b"\x00" * 10)


def _status_size(error) -> int:
    """Bytes the status takes on the wire: grpc-message percent-encoded, the details base64."""
    status = error.to_status()
    size = len(urllib.parse.quote(status.details))
    for key, value in status.trailing_metadata:
        size += len(key) + len(base64.b64encode(value))
    return size


def test_statuses_quote_a_bad_value_by_a_prefix_and_stay_small():
    huge = "许" * 100_000  # 300 kB of UTF-8 a value, 30 MB over the 100 fields: far past any limit
    refused = InvalidArgument([(f"f{n}", f"unknown value {huge!r}") for n in range(100)])
    assert _status_size(refused) < 8 * 1024
    (detail,) = refused.details()
    assert isinstance(detail, error_details_pb2.BadRequest)
    assert 0 < len(detail.field_violations) < 100
    assert detail.field_violations[0].description.endswith("…")
    missing = NotFound("customer", huge)
    assert _status_size(missing) < 8 * 1024
    assert (
        clip("abc", 10) == "abc"
        and clip("许许许许", 7) == "许…"
        and len(clip("x" * 999, 256).encode()) <= 256
    )


def test_the_limits_page_is_current():
    page = pathlib.Path(__file__).resolve().parents[3] / "docs" / "limits.md"
    assert page.read_text(encoding="utf-8") == limits_page.markdown(), (
        "run `make protos` to rewrite docs/limits.md"
    )


def test_the_limits_page_lists_every_contract_and_its_declared_limits():
    text = limits_page.markdown()
    for package in ("classification", "complaints", "rules", "evaluation", "gateway"):
        assert f"## `retailcare.{package}.v1`" in text
    assert "| `licence_number` | printable text, at most 40 characters |" in text
    assert "| `source` | text, at most 262,144 characters |" in text
    assert "| `states` | list of one of `STATE_UNSPECIFIED`" in text
