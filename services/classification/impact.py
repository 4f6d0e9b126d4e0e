"""Every customer a draft rule set would change, as a stream: the active customers are read
a page at a time, each decided with the draft as ``PreviewRuleSetImpact`` decides them
(``domain.classify_with_draft``), and the changed ones handed on in chunks while the
counts add up. Nothing but one page and one chunk is held, whatever the customer base
(``retailcare rules preview --csv``). Changes nothing."""

from __future__ import annotations

import time
from collections.abc import Iterator
from dataclasses import dataclass

from services.classification import domain
from services.classification.domain import Outcome, PreviewReport
from services.classification.ports import CannotDecide, CustomerQuery, InvalidDraft
from services.common.errors import InvalidArgument

PAGE = 500  # customers read at a time (the use cases' largest page)
ROWS_PER_CHUNK = 500


@dataclass(frozen=True)
class ImpactRow:
    licence_number: str
    grade_before: int
    grade_after: int
    star_before: int
    star_after: int
    services_gained: tuple[str, ...]
    services_lost: tuple[str, ...]
    services_changed: tuple[str, ...]  # kept, with different parameters

    @classmethod
    def of(cls, licence: str, before: Outcome | None, after: Outcome) -> ImpactRow:
        old = before.services if before else {}
        kept = set(old) & set(after.services)
        return cls(
            licence,
            before.grade if before else 0,
            after.grade,
            before.star_level if before else 0,
            after.star_level,
            tuple(sorted(set(after.services) - set(old))),
            tuple(sorted(set(old) - set(after.services))),
            tuple(sorted(s for s in kept if old[s] != after.services[s])),
        )


def changed_customers(
    use_cases, draft_source: str, rows_per_chunk: int = ROWS_PER_CHUNK
) -> Iterator[list[ImpactRow] | PreviewReport]:
    """Lists of at most ``rows_per_chunk`` changed customers in customer order, then the
    report with the counts (and no sample). A draft that does not compile, or cannot
    decide some customer, is InvalidArgument on ``draft_source``, as for the preview."""
    started = time.perf_counter()
    try:
        draft = use_cases.rule_sets.draft(draft_source)
    except InvalidDraft as invalid:
        raise InvalidArgument([("draft_source", problem) for problem in invalid.problems]) from None
    report = PreviewReport(rule_set=draft.name)

    def decide(name: str, facts: dict):
        return draft.decide(facts) if name == draft.name else use_cases.rule_sets.decide(name, facts)

    chunk: list[ImpactRow] = []
    token = ""
    try:
        while True:
            customers, token = use_cases.list(CustomerQuery(), PAGE, token)
            for customer in customers:
                before = customer.outcome
                after = domain.classify_with_draft(customer.inputs, before, draft.name, decide)
                changed = report.changed
                report.count(customer.licence_number, before, after, 0)
                if report.changed > changed:
                    chunk.append(ImpactRow.of(customer.licence_number, before, after))
                if len(chunk) >= rows_per_chunk:
                    yield chunk
                    chunk = []
            if not token:
                break
    except (domain.IncompleteDecision, CannotDecide) as problem:
        raise InvalidArgument([("draft_source", f"cannot classify every customer: {problem}")]) from None
    finally:
        draft.close()
    if chunk:
        yield chunk
    report.seconds = time.perf_counter() - started
    yield report
