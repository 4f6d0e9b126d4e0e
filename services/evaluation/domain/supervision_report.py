"""The supervision report of a period (服务监督报告): return-visit coverage and satisfaction
by market zone, committed items checked and broken by item, breaches by team, and the
discrepancies between what customers said and what the visit cards record.

Built from the period's return-visit tasks and the inspection findings that fall in the
period; standard library only (the PDF is drawn elsewhere from these figures)."""

from __future__ import annotations

import datetime
from dataclasses import dataclass

from services.evaluation.domain.return_visits import CLOSED
from services.evaluation.domain.supervision import UPHELD

LANGUAGES = ("zh", "en")  # the languages the report is printed in
# The reply and the PDF list at most this many discrepancies (a thousand rows are about
# fifty pages, and a reply stays far below gRPC's message size); the figures count them all.
LISTED_DISCREPANCIES = 1000


@dataclass(frozen=True)
class ZoneFigures:
    zone: str
    planned: int
    answered: int
    satisfaction: float  # mean of every satisfaction answer, 1-5; 0 when none
    discrepancies: int

    @property
    def coverage(self) -> float:
        return self.answered / self.planned if self.planned else 0.0


@dataclass(frozen=True)
class ItemFigures:
    service: str
    asked: int  # return-visit answers that asked about it
    undelivered: int  # of those, the customer said it was not delivered
    findings: int  # inspection findings about it
    upheld: int  # of those, upheld: broken commitments


@dataclass(frozen=True)
class TeamFigures:
    team_id: str
    findings: int
    upheld: int


@dataclass(frozen=True)
class DiscrepancyLine:
    task_id: str
    licence_number: str
    zone: str
    staff_id: str
    service: str
    kind: str
    card_ids: tuple[str, ...]
    description: str


@dataclass(frozen=True)
class SupervisionReport:
    period_id: str
    starts_on: datetime.date
    ends_on: datetime.date
    zones: tuple[ZoneFigures, ...]
    items: tuple[ItemFigures, ...]
    teams: tuple[TeamFigures, ...]
    discrepancies: tuple[DiscrepancyLine, ...]

    @property
    def planned(self) -> int:
        return sum(zone.planned for zone in self.zones)

    @property
    def answered(self) -> int:
        return sum(zone.answered for zone in self.zones)


def build(period, tasks, findings) -> SupervisionReport:
    """The report of ``period`` from its return-visit ``tasks`` and the ``findings`` found
    in its window (others are ignored)."""
    start, end = period.window()
    findings = [f for f in findings if start <= f.found_at < end]
    zones: dict[str, list] = {}
    items: dict[str, list[int]] = {}
    lines = []
    for task in tasks:
        zone = zones.setdefault(task.zone, [0, 0, [], 0])
        zone[0] += 1
        if task.state != CLOSED:
            continue
        zone[1] += 1
        zone[2] += task.satisfaction
        zone[3] += len(task.discrepancies)
        for service, done in task.delivered:
            figures = items.setdefault(service, [0, 0, 0, 0])
            figures[0] += 1
            figures[1] += not done
        lines += [
            DiscrepancyLine(
                task.id,
                task.licence_number,
                task.zone,
                task.staff_id,
                d.service,
                d.kind,
                d.card_ids,
                d.description,
            )
            for d in task.discrepancies
        ]
    teams: dict[str, list[int]] = {}
    for finding in findings:
        upheld = finding.state == UPHELD
        figures = items.setdefault(finding.service, [0, 0, 0, 0])
        figures[2] += 1
        figures[3] += upheld
        team = teams.setdefault(finding.team_id, [0, 0])
        team[0] += 1
        team[1] += upheld
    return SupervisionReport(
        period.id,
        period.starts_on,
        period.ends_on,
        tuple(
            ZoneFigures(zone, planned, answered, sum(answers) / len(answers) if answers else 0.0, found)
            for zone, (planned, answered, answers, found) in sorted(zones.items())
        ),
        tuple(ItemFigures(service, *figures) for service, figures in sorted(items.items())),
        tuple(TeamFigures(team, *figures) for team, figures in sorted(teams.items())),
        tuple(sorted(lines, key=lambda line: (line.zone, line.licence_number, line.service))),
    )
