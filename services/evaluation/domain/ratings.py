"""Ratings in the five evaluation modes: cadence, who may rate whom, and aggregation."""

from __future__ import annotations

import datetime
from dataclasses import dataclass

from services.evaluation.domain.errors import Invalid, require
from services.evaluation.domain.people import MANAGING_ROLES, Staff, check_id
from services.evaluation.domain.periods import Period

SELF, PEER, INSPECTION, CUSTOMER_SURVEY, COMPETENCY = (
    "self",
    "peer",
    "inspection",
    "customer_survey",
    "competency",
)
MODES = (SELF, PEER, INSPECTION, CUSTOMER_SURVEY, COMPETENCY)
# The period kinds each mode is recorded for.
CADENCE = {
    SELF: ("month", "year"),
    PEER: ("month", "quarter", "half_year", "year"),
    INSPECTION: ("month", "year"),  # county inspectors monthly, city inspectors yearly
    CUSTOMER_SURVEY: ("half_year", "year"),
    COMPETENCY: ("year",),
}
INSPECTION_LEVEL = {"month": "county", "year": "city"}
MAX_ANSWERS = 50


@dataclass(frozen=True)
class Rating:
    period_id: str
    mode: str
    rater_id: str
    subject_id: str
    score: float = 0.0
    answers: tuple[int, ...] = ()
    comment: str = ""
    revision: int = 1
    recorded_at: datetime.datetime | None = None

    @property
    def key(self) -> tuple[str, str, str, str]:
        return (self.period_id, self.mode, self.rater_id, self.subject_id)

    def validate(self) -> Rating:
        problems = check_id("rating.rater_id", self.rater_id) + check_id("rating.subject_id", self.subject_id)
        if self.mode not in MODES:
            problems.append(("rating.mode", "is required"))
        elif self.mode == CUSTOMER_SURVEY:
            if not self.answers or len(self.answers) > MAX_ANSWERS:
                problems.append(("rating.answers", f"a survey has 1-{MAX_ANSWERS} answers"))
            elif any(a < 1 or a > 5 for a in self.answers):
                problems.append(("rating.answers", "each answer is 1-5"))
            if self.score:
                problems.append(("rating.score", "a survey is given as answers, not a score"))
        else:
            if not 0 <= self.score <= 100:
                problems.append(("rating.score", "must be 0-100"))
            if self.answers:
                problems.append(("rating.answers", "only customer surveys have answers"))
        if len(self.comment) > 2000:
            problems.append(("rating.comment", "at most 2000 characters"))
        require(problems)
        return self

    @property
    def value(self) -> float:
        """0-100 for scored modes; the mean answer 1-5 for surveys."""
        if self.mode == CUSTOMER_SURVEY:
            return sum(self.answers) / len(self.answers)
        return self.score


def check_rater(rating: Rating, period: Period, subject: Staff, rater: Staff | None) -> None:
    """Refuses a rating its rater may not give in this period. ``rater`` is None for a
    customer survey (the rater is a customer, checked elsewhere)."""
    mode = rating.mode
    if period.kind not in CADENCE[mode]:
        raise Invalid(
            [
                (
                    "rating.mode",
                    f"{mode} ratings are recorded for {', '.join(CADENCE[mode])} periods, not {period.kind}",
                )
            ]
        )
    if mode == CUSTOMER_SURVEY:
        return
    assert rater is not None
    if not rater.active:
        raise Invalid([("rating.rater_id", f"{rater.id} is not active")])
    if mode == SELF and rater.id != subject.id:
        raise Invalid([("rating.rater_id", "a self rating is given by the subject")])
    if mode != SELF and rater.id == subject.id:
        raise Invalid([("rating.rater_id", f"nobody gives a {mode} rating of themself")])
    if mode == PEER and rater.line == subject.line:
        raise Invalid(
            [("rating.rater_id", f"peer ratings are between lines; both are on the {rater.line} line")]
        )
    if mode == INSPECTION:
        level = INSPECTION_LEVEL[period.kind]
        if rater.role != "inspector" or rater.level != level:
            raise Invalid([("rating.rater_id", f"{period.kind} inspections are given by {level} inspectors")])
    if mode == COMPETENCY and rater.role not in MANAGING_ROLES:
        raise Invalid([("rating.rater_id", "competency is rated by a team leader or market manager")])


@dataclass(frozen=True)
class ModeRatings:
    """One subject's ratings of one mode in a period."""

    mode: str
    raters: int
    mean: float  # 0-100; surveys: the mean answer 1-5
    csat: float  # surveys: share of answers 4 or 5

    @property
    def share(self) -> float:
        """What the mode contributes per unit of weight (0-1): the mean score / 100, or a
        survey's CSAT."""
        return self.csat if self.mode == CUSTOMER_SURVEY else self.mean / 100


def aggregate(ratings: list[Rating]) -> dict[str, ModeRatings]:
    """Per mode: the number of raters, the mean and (surveys) the CSAT."""
    by_mode: dict[str, list[Rating]] = {}
    for rating in ratings:
        by_mode.setdefault(rating.mode, []).append(rating)
    result = {}
    for mode, group in by_mode.items():
        mean = sum(r.value for r in group) / len(group)
        csat = 0.0
        if mode == CUSTOMER_SURVEY:
            answers = [a for r in group for a in r.answers]
            csat = sum(1 for a in answers if a >= 4) / len(answers)
        result[mode] = ModeRatings(mode, len(group), mean, csat)
    return result
