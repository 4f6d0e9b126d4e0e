"""A period result as kept: the score with its explanation in plain values."""

from __future__ import annotations

from dataclasses import dataclass, field

from services.evaluation.domain.scoring import Score, ScoringPolicy


@dataclass(frozen=True)
class PeriodResult:
    period_id: str
    subject_kind: str  # staff or team
    subject_id: str
    team_id: str
    role: str
    total_score: float
    grade: str
    pay_coefficient: float
    indicators: tuple[dict, ...]
    modes: tuple[dict, ...]
    rule_set: str
    rule_set_version: int
    run: int
    graded: bool = True
    opened_plan_id: str = ""
    follows_up_plan_ids: tuple[str, ...] = field(default_factory=tuple)

    @classmethod
    def of(
        cls, period_id, subject_kind, subject_id, team_id, role, policy: ScoringPolicy, score: Score, run: int
    ):
        indicators = tuple(
            {
                "indicator": item.rule.indicator,
                "category": item.rule.category,
                "kind": item.rule.kind,
                "horizon": item.rule.horizon,
                "scope": item.rule.scope,
                "has_value": item.value is not None,
                "value": round(item.value, 6) if item.value is not None else 0.0,
                "target": item.rule.target,
                "function": item.rule.function,
                "share": item.share,
                "weight": item.rule.weight,
                "effective_weight": item.effective_weight,
                "points": item.points,
                "note": item.note,
                "rule_id": item.rule.rule_id,
            }
            for item in score.indicators
        )
        modes = tuple(
            {
                "mode": item.rule.mode,
                "raters": item.ratings.raters if item.ratings else 0,
                "min_raters": item.rule.min_raters,
                "included": item.included,
                "mean": round(item.ratings.mean, 4) if item.ratings else 0.0,
                "csat": round(item.ratings.csat, 4) if item.ratings else 0.0,
                "share": round(item.ratings.share, 4) if item.ratings else 0.0,
                "weight": item.rule.weight,
                "effective_weight": item.effective_weight,
            }
            for item in score.modes
        )
        return cls(
            period_id,
            subject_kind,
            subject_id,
            team_id,
            role,
            score.total,
            score.grade,
            score.pay_coefficient,
            indicators,
            modes,
            policy.rule_set,
            policy.version,
            run,
            score.graded,
        )
