"""RuleSetAdmin through a real channel on the classification service, SQLite and PostgreSQL
(the refusals, which store nothing, on one SQLite server for their class)."""

import urllib.request

import grpc
import pytest
from google.protobuf import struct_pb2
from retailcare.rules.v1 import rule_sets_pb2 as pb
from retailcare.rules.v1 import rule_sets_pb2_grpc

from services.common.errors import field_violations
from services.composition import service_definition
from tests.support.rule_samples import default_source
from tests.support.services import channel_to, running, settings_for

GRADING = "customer-grading"


@pytest.fixture
def service(tmp_path, db_url):
    settings = settings_for(tmp_path, classification_database_url=db_url, rules_poll_seconds=0.1)
    with running(service_definition("classification"), settings) as service:
        yield service


@pytest.fixture
def admin(service):
    with channel_to(service) as channel:
        yield rule_sets_pb2_grpc.RuleSetAdminStub(channel)


@pytest.fixture(scope="class")
def refusing_admin(tmp_path_factory):
    """One server (SQLite) for a class of refusals: a refused request is turned away before
    anything is stored, so each leaves the server as it found it for the next. (A class,
    not the module: two classification servers in one process would share one metrics
    registry.)"""
    folder = tmp_path_factory.mktemp("refusals")
    settings = settings_for(
        folder, classification_database_url=f"sqlite:///{folder / 'test.db'}", rules_poll_seconds=0.1
    )
    with running(service_definition("classification"), settings) as service, channel_to(service) as channel:
        yield rule_sets_pb2_grpc.RuleSetAdminStub(channel)


def _facts(**values) -> struct_pb2.Struct:
    facts = struct_pb2.Struct()
    facts.update(values)
    return facts


CUSTOMER = {"monthly_sales_cartons": 92, "business_format": "grocery", "market_type": "urban"}
EDITED = default_source(GRADING).replace('">= 95", set_grade.grade: 20', '">= 90", set_grade.grade: 20')


def test_list_shows_both_rule_sets_serving_version_1(admin):
    reply = admin.ListRuleSets(pb.ListRuleSetsRequest(), timeout=5)
    assert {(s.name, s.active_version, s.serving_version) for s in reply.rule_sets} == {
        ("customer-grading", 1, 1),
        ("service-entitlements", 1, 1),
    }


def test_validate_reports_diagnostics_without_storing(admin):
    reply = admin.ValidateRuleSet(
        pb.ValidateRuleSetRequest(
            source=EDITED.replace("set_star_level: {level: 5}", "set_star_level: {level: 9}")
        ),
        timeout=5,
    )
    assert not reply.valid
    (problem,) = reply.diagnostics
    assert (problem.severity, problem.rule_id) == (pb.Diagnostic.ERROR, "star_5")
    assert "level 9 must be at most 5" in problem.message and problem.line > 0
    assert admin.ValidateRuleSet(pb.ValidateRuleSetRequest(source=EDITED), timeout=5).tests_passed == 5
    latest = {
        s.name: s.latest_version for s in admin.ListRuleSets(pb.ListRuleSetsRequest(), timeout=5).rule_sets
    }
    assert latest[GRADING] == 1


def test_dry_run_a_draft_and_the_active_version(admin):
    draft = admin.DryRunRuleSet(
        pb.DryRunRuleSetRequest(draft_source=EDITED, facts=_facts(**CUSTOMER)), timeout=5
    )
    active = admin.DryRunRuleSet(
        pb.DryRunRuleSetRequest(rule_set=GRADING, facts=_facts(**CUSTOMER)), timeout=5
    )
    assert draft.decision.outputs["grade"] == 20 and draft.decision.version == 0
    assert active.decision.outputs["grade"] == 19 and active.decision.version == 1
    assert "grade_19" in active.decision.fired_rules


class TestRefusals:
    """Refused requests: nothing stored, the server serves the next as it was."""

    @pytest.mark.parametrize(
        ("facts", "field"),
        [
            (
                {"monthly_sales_cartons": "lots", "business_format": "grocery", "market_type": "urban"},
                "facts.monthly_sales_cartons",
            ),
            ({"business_format": "grocery", "market_type": "urban"}, "facts.monthly_sales_cartons"),
            ({**CUSTOMER, "favourite_colour": "red"}, "facts.favourite_colour"),
        ],
    )
    def test_dry_run_with_bad_facts_names_the_field(self, refusing_admin, facts, field):
        with pytest.raises(grpc.RpcError) as error:
            refusing_admin.DryRunRuleSet(
                pb.DryRunRuleSetRequest(rule_set=GRADING, facts=_facts(**facts)), timeout=5
            )
        assert error.value.code() == grpc.StatusCode.INVALID_ARGUMENT
        assert field in field_violations(error.value)

    @pytest.mark.parametrize(
        ("source", "fragment"),
        [
            ("name: customer-grading\ninputs: [unclosed\n", "YAML syntax"),
            (
                EDITED.replace("set_segment: {segment: growth}", "set_mood: {mood: happy}"),
                "unknown action 'set_mood'",
            ),
            (
                EDITED.replace("expect: {grade: 30, star_level: 5", "expect: {grade: 29, star_level: 5"),
                "expected 29, got 30",
            ),
            (
                EDITED.replace("cooperation_score: {at_least: 85}", "cooperation_score: {at_least: high}"),
                "'high' must be a whole number",
            ),
            (
                EDITED.replace('">= 90", set_grade.grade: 20', '"=> 90", set_grade.grade: 20'),
                "unknown operator '=>'",
            ),
            (
                EDITED.replace('">= 90", set_grade.grade: 20', '">= 1.0e999", set_grade.grade: 20'),
                "finite number",
            ),
            (EDITED + "#" * (256 * 1024), "at most 262144 characters"),
            (EDITED + "# 许可证\n" * 23000, "larger than 256 KiB"),  # fewer characters, more bytes
        ],
    )
    def test_a_bad_publish_is_refused_and_the_active_version_keeps_serving(
        self, refusing_admin, source, fragment
    ):
        admin = refusing_admin
        with pytest.raises(grpc.RpcError) as error:
            admin.PublishRuleSet(pb.PublishRuleSetRequest(source=source, author="a", comment="c"), timeout=5)
        assert error.value.code() == grpc.StatusCode.INVALID_ARGUMENT
        assert any(fragment in why for why in field_violations(error.value).values())
        summary = {s.name: s for s in admin.ListRuleSets(pb.ListRuleSetsRequest(), timeout=5).rule_sets}[
            GRADING
        ]
        assert (summary.latest_version, summary.active_version, summary.serving_version) == (1, 1, 1)


def test_publish_then_roll_back(admin):
    published = admin.PublishRuleSet(
        pb.PublishRuleSetRequest(source=EDITED, author="analyst.li", comment="grade 20 from 90"), timeout=5
    )
    assert (published.version.version, published.version.active) == (2, True)
    dry = admin.DryRunRuleSet(pb.DryRunRuleSetRequest(rule_set=GRADING, facts=_facts(**CUSTOMER)), timeout=5)
    assert (dry.decision.version, dry.decision.outputs["grade"]) == (2, 20)
    rolled = admin.ActivateRuleSetVersion(
        pb.ActivateRuleSetVersionRequest(
            rule_set=GRADING, version=1, actor="analyst.wang", comment="too generous"
        ),
        timeout=5,
    )
    assert (rolled.version.version, rolled.previous_version) == (1, 2)
    dry = admin.DryRunRuleSet(pb.DryRunRuleSetRequest(rule_set=GRADING, facts=_facts(**CUSTOMER)), timeout=5)
    assert (dry.decision.version, dry.decision.outputs["grade"]) == (1, 19)
    old = admin.DryRunRuleSet(
        pb.DryRunRuleSetRequest(rule_set=GRADING, version=2, facts=_facts(**CUSTOMER)), timeout=5
    )
    assert old.decision.outputs["grade"] == 20
    history = admin.ListRuleSetVersions(pb.ListRuleSetVersionsRequest(rule_set=GRADING), timeout=5)
    assert [(v.version, v.active) for v in history.versions] == [(2, False), (1, True)]
    audit = admin.ListRuleSetAudit(pb.ListRuleSetAuditRequest(rule_set=GRADING), timeout=5)
    assert [(a.action, a.version, a.actor) for a in audit.entries][:3] == [
        ("activate", 1, "analyst.wang"),
        ("activate", 2, "analyst.li"),
        ("publish", 2, "analyst.li"),
    ]
    diff = admin.DiffRuleSetVersions(
        pb.DiffRuleSetVersionsRequest(rule_set=GRADING, from_version=1, to_version=2), timeout=5
    )
    assert '+    - {id: grade_20, priority: 20, monthly_sales_cartons: ">= 90"' in diff.unified_diff
    got = admin.GetRuleSetVersion(pb.GetRuleSetVersionRequest(rule_set=GRADING, version=2), timeout=5)
    assert got.version.source == EDITED and got.version.author == "analyst.li"


def test_requests_missing_fields_or_naming_unknown_things(admin):
    with pytest.raises(grpc.RpcError) as no_author:
        admin.PublishRuleSet(pb.PublishRuleSetRequest(source=EDITED), timeout=5)
    assert "author" in field_violations(no_author.value)
    with pytest.raises(grpc.RpcError) as unknown:
        admin.GetRuleSetVersion(pb.GetRuleSetVersionRequest(rule_set="complaint-policy"), timeout=5)
    assert unknown.value.code() == grpc.StatusCode.NOT_FOUND
    with pytest.raises(grpc.RpcError) as missing_version:
        admin.ActivateRuleSetVersion(
            pb.ActivateRuleSetVersionRequest(rule_set=GRADING, version=7, actor="a"), timeout=5
        )
    assert missing_version.value.code() == grpc.StatusCode.NOT_FOUND
    with pytest.raises(grpc.RpcError) as negative:
        admin.ListRuleSetVersions(pb.ListRuleSetVersionsRequest(rule_set=GRADING, page_size=-1), timeout=5)
    assert "page_size" in field_violations(negative.value)
    with pytest.raises(grpc.RpcError) as duplicate:
        admin.PublishRuleSet(pb.PublishRuleSetRequest(source=default_source(GRADING), author="a"), timeout=5)
    assert duplicate.value.code() == grpc.StatusCode.ALREADY_EXISTS


def test_rule_metrics_are_exported(service, admin):
    admin.DryRunRuleSet(pb.DryRunRuleSetRequest(rule_set=GRADING, facts=_facts(**CUSTOMER)), timeout=5)
    port = service.settings.http_port("classification")
    text = urllib.request.urlopen(f"http://127.0.0.1:{port}/metrics", timeout=5).read().decode()
    assert 'rules_decisions_total{outcome="decided",rule_set="customer-grading",version="1"}' in text
    assert 'rules_fired_total{rule="grade_19",rule_set="customer-grading"}' in text
    assert 'rules_active_version{rule_set="customer-grading"} 1.0' in text
    assert 'rules_reloads_total{result="success",rule_set="customer-grading"}' in text
    assert "rules_decision_seconds_bucket" in text


def _walk(method, request_type, items: str, size: int) -> list:
    seen, token = [], ""
    for _ in range(20):
        reply = method(request_type(rule_set=GRADING, page_size=size, page_token=token), timeout=5)
        assert len(getattr(reply, items)) <= size
        seen += getattr(reply, items)
        token = reply.next_page_token
        if not token:
            return seen
    raise AssertionError("no last page")


def test_the_audit_log_pages_newest_first_with_its_own_tokens(admin):
    for n in range(3):
        admin.PublishRuleSet(
            pb.PublishRuleSetRequest(source=f"{EDITED}\n# {n}\n", author="li", comment=f"c{n}"), timeout=5
        )
    everything = admin.ListRuleSetAudit(pb.ListRuleSetAuditRequest(rule_set=GRADING), timeout=5).entries
    assert [(a.action, a.version) for a in everything] == [
        ("activate", 4),
        ("publish", 4),
        ("activate", 3),
        ("publish", 3),
        ("activate", 2),
        ("publish", 2),
        ("activate", 1),
        ("publish", 1),
    ]
    for size in (1, 3, 8, 9):
        assert _walk(admin.ListRuleSetAudit, pb.ListRuleSetAuditRequest, "entries", size) == list(everything)
    versions_token = admin.ListRuleSetVersions(
        pb.ListRuleSetVersionsRequest(rule_set=GRADING, page_size=1), timeout=5
    ).next_page_token
    audit_token = admin.ListRuleSetAudit(
        pb.ListRuleSetAuditRequest(rule_set=GRADING, page_size=1), timeout=5
    ).next_page_token
    for request in (
        pb.ListRuleSetAuditRequest(rule_set=GRADING, page_token=versions_token),  # another list's token
        pb.ListRuleSetAuditRequest(rule_set=GRADING, page_token=audit_token[:-2]),
        pb.ListRuleSetAuditRequest(rule_set=GRADING, page_token="MTg0NDY3NDQwNzM3MDk1NTE2MTY="),  # 2**64
        pb.ListRuleSetAuditRequest(rule_set=GRADING, page_size=-1),
    ):
        with pytest.raises(grpc.RpcError) as refused:
            admin.ListRuleSetAudit(request, timeout=5)
        assert refused.value.code() == grpc.StatusCode.INVALID_ARGUMENT
        assert set(field_violations(refused.value)) <= {"page_token", "page_size"}
