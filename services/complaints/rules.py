"""The complaints service's rule set and its action vocabulary."""

import pathlib

from services.common.rules.actions import set_many_once, set_once
from services.common.rules.model import ActionSpec, Param, RuleSetKind, Vocabulary, supplied_facts
from services.complaints.domain import (
    CATEGORIES,
    CHANNELS,
    ESCALATION_LEVELS,
    OPEN_COMPLAINTS_CHOICES,
    SEVERITIES,
)

FOLDER = pathlib.Path(__file__).parent / "rule_sets"


COMPLAINT_POLICY = RuleSetKind(
    name="complaint-policy",
    vocabulary=Vocabulary.of(
        ActionSpec(
            "set_deadline",
            {"working_days": Param("integer", minimum=1, maximum=30)},
            set_once("deadline_working_days", "working_days"),
            "working days allowed to deal with the complaint",
        ),
        ActionSpec(
            "pause_clock_while_waiting",
            {"pause": Param("boolean")},
            set_once("pause_clock_while_waiting", "pause"),
            "whether waiting on the retailer stops the deadline clock",
        ),
        ActionSpec(
            "set_escalation",
            {
                "warn_at_share": Param("decimal", minimum=0.1, maximum=1.0),
                "levels": Param("text_list", allowed=ESCALATION_LEVELS),
                "level_interval_working_days": Param("integer", required=False, minimum=0, maximum=30),
            },
            set_many_once(
                {
                    "warn_at_share": "warn_at_share",
                    "levels": "escalation_levels",
                    "level_interval_working_days": "escalation_interval_working_days",
                }
            ),
            "when to warn, and who is escalated to, level by level, once the deadline passes",
        ),
        ActionSpec(
            "open_complaints",
            {"deadlines": Param("one_of", allowed=OPEN_COMPLAINTS_CHOICES)},
            set_once("open_complaints", "deadlines"),
            "when this version is activated, whether the complaints it decides that are still open"
            " get their deadline under it (follow_new_version) or keep theirs (keep, the default)",
        ),
    ),
    default_path=FOLDER / "complaint-policy.yaml",
    facts=supplied_facts(always={"category": CATEGORIES, "severity": SEVERITIES, "channel": CHANNELS}),
)

RULE_SETS = (COMPLAINT_POLICY,)
