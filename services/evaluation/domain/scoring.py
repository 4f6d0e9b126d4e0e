"""KPI scoring: a policy decided by the kpi-scoring rule set, applied to one subject's
indicator values and ratings, with an explanation per indicator and per mode.

How a score is computed:
* each indicator earns a *share* of its weight: ``linear`` = value / target, capped at
  ``cap`` (default 1); ``threshold`` = 1 when the value meets the target (``pass_when``
  at_least or at_most), else 0; ``banded`` = the share of the band the value falls in,
  bands being given by their lower bound from 0 up, so they leave no gaps;
* an indicator without data for the period follows its ``when_missing`` rule:
  ``leave_out`` (the default) drops it and the other indicators' weights are scaled up
  to the same total; ``score_zero`` keeps its weight and scores 0. Either way the
  explanation says so; nothing is silently zero;
* the ``ratings`` indicator is the five evaluation modes: each mode with at least its
  minimum number of raters contributes its share (mean score / 100, or a survey's CSAT)
  by its weight, renormalised over the modes that have enough raters;
* the total is the sum of points; the grade and pay coefficient are those of the
  highest grade whose ``from_score`` the total reaches. A subject without data for any
  indicator is not graded (no grade, pay coefficient 0, no improvement plan).
"""

from __future__ import annotations

from dataclasses import dataclass

from services.evaluation.domain.errors import Refused
from services.evaluation.domain.ratings import MODES, ModeRatings

RATINGS = "ratings"
FUNCTIONS = ("linear", "banded", "threshold")
LEAVE_OUT, SCORE_ZERO = "leave_out", "score_zero"


@dataclass(frozen=True)
class IndicatorRule:
    indicator: str
    category: str  # process or result
    kind: str  # quantitative or qualitative
    horizon: str
    scope: str
    weight: float
    function: str
    target: float = 0.0
    cap: float = 1.0
    pass_when: str = "at_least"
    when_missing: str = LEAVE_OUT
    bands: tuple[tuple[float, float], ...] = ()  # (from, share), ascending
    rule_id: str = ""

    def share(self, value: float) -> float:
        if self.function == "linear":
            return max(0.0, min(value / self.target, self.cap))
        if self.function == "threshold":
            met = value >= self.target if self.pass_when == "at_least" else value <= self.target
            return 1.0 if met else 0.0
        earned = 0.0
        for lower, share in self.bands:
            if value >= lower:
                earned = share
        return earned


@dataclass(frozen=True)
class ModeRule:
    mode: str
    weight: float
    min_raters: int


@dataclass(frozen=True)
class GradeRule:
    grade: str
    from_score: float
    pay_coefficient: float


@dataclass(frozen=True)
class ScoringPolicy:
    rule_set: str
    version: int
    indicators: tuple[IndicatorRule, ...]
    modes: tuple[ModeRule, ...]
    grades: tuple[GradeRule, ...]  # ascending by from_score, the first from 0
    plan_below: float | None = None
    plan_due_days: int = 30

    @classmethod
    def from_decision(cls, rule_set: str, version: int, outputs: dict, reasons: dict) -> ScoringPolicy:
        """The policy a decision describes; Refused names what the rule set lacks."""
        where = f"rule set {rule_set} version {version}"
        indicators = []
        bands = outputs.get("bands", {})
        for name, spec in outputs.get("indicators", {}).items():
            rule = IndicatorRule(
                indicator=name,
                category=spec["category"],
                kind=spec["kind"],
                horizon=spec.get("horizon", "short_term"),
                scope=spec.get("scope", "internal"),
                weight=float(spec["weight"]),
                function=spec["function"],
                target=float(spec.get("target", 0)),
                cap=float(spec.get("cap", 1)),
                pass_when=spec.get("pass_when", "at_least"),
                when_missing=spec.get("when_missing", LEAVE_OUT),
                bands=tuple(sorted((float(k), float(v)) for k, v in bands.get(name, {}).items())),
                rule_id=reasons.get(f"indicators.{name}", ""),
            )
            if rule.function == "linear" and rule.target <= 0:
                raise Refused(f"{where}: linear indicator {name} needs a target above 0", rule_set)
            if rule.function == "banded" and (not rule.bands or rule.bands[0][0] != 0):
                raise Refused(f"{where}: banded indicator {name} needs bands starting from 0", rule_set)
            indicators.append(rule)
        if not indicators:
            raise Refused(f"{where} scores no indicator", rule_set)
        modes = tuple(
            ModeRule(mode, float(spec["weight"]), int(spec["min_raters"]))
            for mode, spec in sorted(outputs.get("modes", {}).items(), key=lambda item: MODES.index(item[0]))
        )
        if any(rule.indicator == RATINGS for rule in indicators) and not modes:
            raise Refused(f"{where}: the ratings indicator needs mode weights", rule_set)
        grades = tuple(
            sorted(
                (
                    GradeRule(grade, float(spec["from_score"]), float(spec["pay_coefficient"]))
                    for grade, spec in outputs.get("grades", {}).items()
                ),
                key=lambda g: g.from_score,
            )
        )
        if not grades or grades[0].from_score != 0:
            raise Refused(f"{where}: grades must start from a score of 0", rule_set)
        return cls(
            rule_set,
            version,
            tuple(indicators),
            modes,
            grades,
            outputs.get("plan_below"),
            int(outputs.get("plan_due_days", 30)),
        )

    def grade_for(self, total: float) -> GradeRule:
        reached = self.grades[0]
        for grade in self.grades:
            if total >= grade.from_score:
                reached = grade
        return reached


@dataclass(frozen=True)
class IndicatorScore:
    rule: IndicatorRule
    value: float | None
    share: float
    effective_weight: float
    points: float
    note: str = ""


@dataclass(frozen=True)
class ModeScore:
    rule: ModeRule
    ratings: ModeRatings | None
    included: bool
    effective_weight: float


@dataclass(frozen=True)
class Score:
    total: float
    grade: str
    pay_coefficient: float
    indicators: tuple[IndicatorScore, ...]
    modes: tuple[ModeScore, ...]
    graded: bool = True  # False: no indicator had data; no grade, no pay coefficient


def score_modes(
    policy: ScoringPolicy, ratings: dict[str, ModeRatings]
) -> tuple[float | None, tuple[ModeScore, ...]]:
    """The ratings indicator's value (0-100, None when no mode has enough raters)."""
    included = [
        rule for rule in policy.modes if rule.mode in ratings and ratings[rule.mode].raters >= rule.min_raters
    ]
    weight = sum(rule.weight for rule in included)
    scores = []
    value = 0.0
    for rule in policy.modes:
        use = rule in included and weight > 0
        effective = rule.weight / weight if use else 0.0
        if use:
            value += effective * ratings[rule.mode].share
        scores.append(ModeScore(rule, ratings.get(rule.mode), use, round(effective, 6)))
    return (round(value * 100, 6) if included and weight > 0 else None), tuple(scores)


def score(policy: ScoringPolicy, values: dict[str, float | None], ratings: dict[str, ModeRatings]) -> Score:
    """Scores one subject. ``values`` holds each indicator's value, None for no data."""
    values = dict(values)
    modes: tuple[ModeScore, ...] = ()
    if any(rule.indicator == RATINGS for rule in policy.indicators):
        values[RATINGS], modes = score_modes(policy, ratings)
    present = [
        r for r in policy.indicators if values.get(r.indicator) is not None or r.when_missing == SCORE_ZERO
    ]
    full = sum(r.weight for r in policy.indicators)
    kept = sum(r.weight for r in present)
    scale = full / kept if kept else 0.0
    left_out = [r.indicator for r in policy.indicators if r not in present]
    results = []
    for rule in policy.indicators:
        value = values.get(rule.indicator)
        if rule not in present:
            note = "no data for the period: left out, the other weights scaled up"
            results.append(IndicatorScore(rule, None, 0.0, 0.0, 0.0, note))
            continue
        effective = rule.weight * scale
        if value is None:
            results.append(
                IndicatorScore(
                    rule, None, 0.0, round(effective, 6), 0.0, "no data for the period: scored 0 by rule"
                )
            )
            continue
        share = rule.share(value)
        note = f"weight scaled by {scale:.4g} because {', '.join(left_out)} had no data" if left_out else ""
        results.append(
            IndicatorScore(
                rule, value, round(share, 6), round(effective, 6), round(share * effective, 4), note
            )
        )
    if not present:
        return Score(0.0, "", 0.0, tuple(results), modes, graded=False)
    total = round(sum(item.points for item in results), 4)
    grade = policy.grade_for(total)
    return Score(total, grade.grade, grade.pay_coefficient, tuple(results), modes)
