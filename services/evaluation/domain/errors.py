"""What the domain refuses, in plain Python; the service layer gives them their gRPC form."""

from __future__ import annotations


class Invalid(Exception):
    """Bad input: one (field, why) per offending field."""

    def __init__(self, violations: list[tuple[str, str]]):
        super().__init__("; ".join(f"{field}: {why}" for field, why in violations))
        self.violations = violations


class Missing(Exception):
    """A named thing that does not exist (a staff member, a period, a plan)."""

    def __init__(self, kind: str, name: str):
        super().__init__(f"{kind} {name!r} not found")
        self.kind = kind
        self.name = name


class Refused(Exception):
    """The request is well formed but the state does not allow it (a published period)."""

    def __init__(self, message: str, subject: str = ""):
        super().__init__(message)
        self.message = message
        self.subject = subject


def require(violations: list[tuple[str, str]]) -> None:
    if violations:
        raise Invalid(violations)
