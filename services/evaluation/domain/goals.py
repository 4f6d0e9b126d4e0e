"""Team goals: a team's sales target split among the members it had in the period."""

from __future__ import annotations

from services.evaluation.domain.errors import require
from services.evaluation.domain.people import SPECIALTIES, Membership

TOLERANCE = 0.0001


def split_goal(
    target: float,
    members: list[Membership],
    member_weights: dict[str, float],
    specialty_shares: dict[str, float],
) -> dict[str, float]:
    """Each member's target. Exactly one of the two splits is given and adds up to 1."""
    problems = []
    if not target > 0:
        problems.append(("sales_target", "must be greater than 0"))
    if bool(member_weights) == bool(specialty_shares):
        problems.append(("member_weights", "give either member weights or specialty shares"))
    require(problems)
    by_member = {m.staff_id: m for m in members}
    shares: dict[str, float] = {}
    if member_weights:
        for staff_id, weight in member_weights.items():
            if staff_id not in by_member:
                problems.append(("member_weights", f"{staff_id} is not a member of the team in the period"))
            if weight < 0:
                problems.append(("member_weights", f"{staff_id}: weight must not be negative"))
        total = sum(member_weights.values())
        shares = dict(member_weights)
        field = "member_weights"
    else:
        for specialty, share in specialty_shares.items():
            holders = [m.staff_id for m in members if m.specialty == specialty]
            if specialty not in SPECIALTIES:
                problems.append(("specialty_shares", f"{specialty} is not a specialty"))
            elif not holders:
                problems.append(("specialty_shares", f"no member has the specialty {specialty}"))
            if share < 0:
                problems.append(("specialty_shares", f"{specialty}: share must not be negative"))
            for staff_id in holders:
                shares[staff_id] = shares.get(staff_id, 0) + share / len(holders)
        total = sum(specialty_shares.values())
        field = "specialty_shares"
    if abs(total - 1) > TOLERANCE:
        problems.append((field, f"must add up to 1, they add up to {total:g}"))
    require(problems)
    return {staff_id: round(target * share, 4) for staff_id, share in shares.items()}
