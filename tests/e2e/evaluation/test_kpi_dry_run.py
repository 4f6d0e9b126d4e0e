"""A dry-run of kpi-scoring answers with its bands: they are keyed by their lower bound
(a number), which the reply carries as text."""

from google.protobuf import json_format, struct_pb2
from retailcare.rules.v1 import rule_sets_pb2 as pb
from retailcare.rules.v1 import rule_sets_pb2_grpc


def test_a_dry_run_of_kpi_scoring_carries_its_bands(pack):
    facts = struct_pb2.Struct()
    facts.update({"subject_kind": "staff", "role": "customer_manager"})
    with pack.service("evaluation") as channel:
        admin = rule_sets_pb2_grpc.RuleSetAdminStub(channel)
        decision = admin.DryRunRuleSet(
            pb.DryRunRuleSetRequest(rule_set="kpi-scoring", facts=facts), timeout=10
        )
    outputs = json_format.MessageToDict(decision.decision.outputs)
    assert outputs["bands"]["broken_commitments"] == {"0": 1, "1": 0.4, "3": 0}
    assert outputs["indicators"]["visit_coverage"]["weight"] == 20
    assert "omission_bands" in decision.decision.fired_rules
