"""Failed decisions counted one by one: each failure adds to the thread's tally, on the
served path and on durable-rules' path alike, also when it is not the thread's first."""

import pytest
from prometheus_client import REGISTRY

from services.common.rules.validation import validate
from tests.support.rule_samples import KINDS, minimal

RULES = "  - {id: base, then: [{set_grade: {grade: 1}}]}\n"
FACTS = {"monthly_sales_cartons": 10, "business_format": "grocery", "market_type": "urban"}


def errors(version: int) -> float:
    labels = {"rule_set": "customer-grading", "version": str(version), "outcome": "error"}
    return REGISTRY.get_sample_value("rules_decisions_total", labels) or 0.0


@pytest.mark.parametrize(
    ("path", "broken", "version"),
    [("serve", "decide_generated", 907), ("decide", "match_with_engine", 908)],
)
def test_every_failed_decision_counts_an_error_on_each_path(path, broken, version, monkeypatch):
    result = validate(minimal(RULES), KINDS, version)
    assert result.valid, [str(d) for d in result.diagnostics]
    compiled = result.compiled
    before = errors(version)
    try:
        assert getattr(compiled, path)(FACTS).fired == ("base",)  # the thread's tally exists
        monkeypatch.setattr(compiled, broken, lambda facts: 1 / 0)
        for _ in range(3):
            with pytest.raises(ZeroDivisionError):
                getattr(compiled, path)(FACTS, **({"memoise": False} if path == "decide" else {}))
        assert errors(version) == before + 3
    finally:
        compiled.close()
