"""The evaluation service's rule set and its action vocabulary."""

import pathlib

from services.common.rules.actions import add_points, set_once
from services.common.rules.model import ActionSpec, Param, RuleSetKind, Vocabulary, supplied_facts

FOLDER = pathlib.Path(__file__).parent / "rule_sets"

BANDS = ("excellent", "good", "qualified", "needs_improvement")

KPI_SCORING = RuleSetKind(
    name="kpi-scoring",
    vocabulary=Vocabulary.of(
        ActionSpec(
            "add_score",
            {"indicator": Param("text"), "points": Param("decimal", minimum=-100, maximum=100)},
            add_points("scores", "total_score", "indicator", "points"),
            "adds points to an indicator and to the total",
        ),
        ActionSpec(
            "set_band",
            {"band": Param("one_of", allowed=BANDS)},
            set_once("band", "band"),
            "the result band of the period",
        ),
        ActionSpec(
            "set_pay_coefficient",
            {"coefficient": Param("decimal", minimum=0, maximum=2)},
            set_once("pay_coefficient", "coefficient"),
            "the performance-pay coefficient the result feeds",
        ),
    ),
    default_path=FOLDER / "kpi-scoring.yaml",
    facts=supplied_facts(
        always={
            "sales_target_ratio": "decimal",
            "visit_completion_ratio": "decimal",
            "complaints_overdue": "integer",
        },
        sometimes={"satisfaction_mean": "decimal"},
    ),
)

RULE_SETS = (KPI_SCORING,)
