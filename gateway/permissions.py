"""The one table of which role may call which gateway method.

The gateway's interceptor enforces it, the relays are registered from it (a method
that is not in it is not served), and docs/gateway.md prints it (a test keeps the two
equal; ``python -m gateway.permissions`` prints the Markdown). Health needs no token.
"""

from __future__ import annotations

from retailcare.classification.v1 import classification_pb2
from retailcare.complaints.v1 import complaints_pb2
from retailcare.evaluation.v1 import evaluation_pb2
from retailcare.gateway.v1 import gateway_pb2
from retailcare.rules.v1 import rule_sets_pb2

from services.common.auth import ROLES

GATEWAY = gateway_pb2.DESCRIPTOR.services_by_name["Gateway"].full_name
CLASSIFICATION = classification_pb2.DESCRIPTOR.services_by_name["ClassificationService"].full_name
COMPLAINTS = complaints_pb2.DESCRIPTOR.services_by_name["ComplaintsService"].full_name
EVALUATION = evaluation_pb2.DESCRIPTOR.services_by_name["EvaluationService"].full_name
RULE_SET_ADMIN = rule_sets_pb2.DESCRIPTOR.services_by_name["RuleSetAdmin"].full_name
REFLECTION = "grpc.reflection.v1alpha.ServerReflection"
HEALTH = "grpc.health.v1.Health"

PUBLIC = frozenset({f"/{HEALTH}/Check", f"/{HEALTH}/Watch"})

SERVICE, ANALYST, OPS, ADMIN = ROLES
EVERYONE = (SERVICE, ANALYST, OPS)
BUSINESS = (SERVICE,)
READ = (SERVICE, OPS)

# service -> method -> roles besides admin (admin may call everything listed here).
_TABLE: dict[str, dict[str, tuple[str, ...]]] = {
    GATEWAY: {
        "GetCustomerProfile": READ,
        "FileComplaint": BUSINESS,
        "GetTeamOverview": READ,
        "GetCommitmentCard": READ,
        "GetZoneCommitmentCards": READ,
    },
    CLASSIFICATION: {
        "CreateCustomer": BUSINESS,
        "UpdateCustomer": BUSINESS,
        "GetCustomer": (SERVICE, ANALYST, OPS),
        "ListCustomers": (SERVICE, ANALYST, OPS),
        "DeactivateCustomer": BUSINESS,
        "ClassifyCustomer": BUSINESS,
        "ExplainClassification": (SERVICE, ANALYST, OPS),
        "GetCustomerFacts": (SERVICE, ANALYST, OPS),
        "ListClassificationHistory": (SERVICE, ANALYST, OPS),
        "ListClassificationChanges": (),
        "GetServiceMenu": READ,
        "ListServiceDescriptions": (SERVICE, ANALYST, OPS),
        "UpdateServiceDescription": (),
        "ImportCustomers": BUSINESS,
        "ReclassifyCustomers": (),
        "PreviewRuleSetImpact": (ANALYST,),
        "StreamRuleSetImpact": (ANALYST,),
        "UpsertMarketZone": (),
        "ListMarketZones": READ,
        "ReassignMarketZone": (),
        "GetReclassificationJob": (SERVICE, ANALYST, OPS),
        "ListReclassificationJobs": (SERVICE, ANALYST, OPS),
    },
    COMPLAINTS: {
        "GetComplaint": READ,
        "ListComplaints": READ,
        "ChangeComplaintState": BUSINESS,
        "HandOffComplaint": BUSINESS,
        "RecordReturnVisit": BUSINESS,
        "ListComplaintEvents": READ,
        "GetComplaintStatistics": READ,
        "RunEscalationSweep": (),
        "GetCalendarYear": READ,
        "SetCalendarYear": (),
        "ChangeCalendarDays": (),
        "ListCalendarChanges": READ,
        "RemoveCalendarChange": (),
        "GetPolicyFollowJob": (SERVICE, ANALYST, OPS),
    },
    EVALUATION: {
        "UpsertStaff": BUSINESS,
        "GetStaff": READ,
        "UpsertTeam": BUSINESS,
        "AssignTeamMember": BUSINESS,
        "GetTeam": READ,
        "CreatePeriod": BUSINESS,
        "GetPeriod": READ,
        "PublishPeriod": (),
        "RecordVisitCard": BUSINESS,
        "ListVisitCards": READ,
        "CheckVisitCards": (),
        "SubmitRating": BUSINESS,
        "ListRatings": READ,
        "RecordActuals": BUSINESS,
        "ImportActuals": BUSINESS,
        "SetTeamGoal": BUSINESS,
        "RunPeriodEvaluation": BUSINESS,
        "ListPeriodResults": READ,
        "GetTeamOverview": READ,
        "ExportPeriodResults": READ,
        "GetRescoringJob": (SERVICE, ANALYST, OPS),
        "GetImprovementPlan": READ,
        "AdvanceImprovementPlan": BUSINESS,
        "ListImprovementPlans": READ,
        "GetCommitmentCard": READ,
        "RecordFinding": BUSINESS,
        "RecordHearing": BUSINESS,
        "DecideFinding": BUSINESS,
        "ListFindings": READ,
        "GetSupervisionReport": READ,
        "PlanReturnVisits": BUSINESS,
        "RecordReturnVisitAnswer": BUSINESS,
        "ListReturnVisitTasks": READ,
    },
    RULE_SET_ADMIN: {
        "ListRuleSets": (ANALYST, OPS),
        "GetRuleSetVersion": (ANALYST, OPS),
        "ValidateRuleSet": (ANALYST,),
        "DryRunRuleSet": (ANALYST,),
        "PublishRuleSet": (ANALYST,),
        "ActivateRuleSetVersion": (ANALYST,),
        "ListRuleSetVersions": (ANALYST, OPS),
        "ListRuleSetAudit": (ANALYST, OPS),
        "DiffRuleSetVersions": (ANALYST, OPS),
        "ListScheduledActivations": (ANALYST, OPS),
        "CancelScheduledActivation": (ANALYST,),
    },
    REFLECTION: {"ServerReflectionInfo": EVERYONE},
}

PERMISSIONS: dict[str, frozenset[str]] = {
    f"/{service}/{method}": frozenset((*roles, ADMIN))
    for service, methods in _TABLE.items()
    for method, roles in methods.items()
}
_NOBODY: frozenset[str] = frozenset()


def allowed_roles(full_method: str) -> frozenset[str]:
    """Roles that may call the method; none for a method the table does not list."""
    return PERMISSIONS.get(full_method, _NOBODY)


def methods_of(service: str) -> list[str]:
    """The methods of a relayed service that the gateway serves."""
    return list(_TABLE.get(service, {}))


def markdown_table() -> str:
    lines = [
        "| method | " + " | ".join(ROLES) + " |",
        "|---|" + "---|" * len(ROLES),
    ]
    for full_method, roles in PERMISSIONS.items():
        marks = " | ".join("yes" if role in roles else "" for role in ROLES)
        lines.append(f"| `{full_method.lstrip('/')}` | {marks} |")
    return "\n".join(lines) + "\n"


if __name__ == "__main__":
    print(markdown_table(), end="")
