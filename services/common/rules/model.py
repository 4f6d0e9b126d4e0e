"""What a rule-set document holds once read, and what validation says about it."""

from __future__ import annotations

import datetime
import math
import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any

INPUT_TYPES = ("integer", "decimal", "text", "boolean", "date", "one_of")
HIT_POLICIES = ("collect", "first")
MAX_MAGNITUDE = 1e15  # as services/common/limits.py allows numbers in requests


@dataclass(frozen=True)
class Diagnostic:
    severity: str  # "error" or "warning"
    message: str
    rule_id: str = ""
    line: int = 0
    # In the decision table: the 1-based row (0: not one row's) and the columns it is about.
    table_row: int = 0
    table_columns: tuple[str, ...] = ()

    def __str__(self) -> str:
        where = f"line {self.line}" if self.line else "document"
        rule = f", rule {self.rule_id}" if self.rule_id else ""
        return f"{self.severity}: {where}{rule}: {self.message}"


@dataclass(frozen=True)
class InputSpec:
    name: str
    type: str
    required: bool = False
    allowed: tuple = ()
    description: str = ""
    line: int = 0

    def convert(self, value: Any) -> Any:
        """The engine's form of a value of this input; ValueError says what is wrong."""
        if self.type == "boolean":
            if isinstance(value, bool):
                return value
            raise ValueError("must be true or false")
        if self.type == "integer":
            if isinstance(value, bool) or not isinstance(value, (int, float)):
                raise ValueError("must be a whole number")
            _check_magnitude(value)
            if int(value) != value:
                raise ValueError("must be a whole number")
            return int(value)
        if self.type == "decimal":
            if isinstance(value, bool) or not isinstance(value, (int, float)):
                raise ValueError("must be a number")
            _check_magnitude(value)
            return float(value)
        if self.type == "date":
            if isinstance(value, datetime.date):
                return value.isoformat()
            try:
                return datetime.date.fromisoformat(str(value)).isoformat()
            except ValueError:
                raise ValueError("must be a date YYYY-MM-DD") from None
        if not isinstance(value, str):
            raise ValueError("must be text")
        if self.type == "one_of" and value not in self.allowed:
            raise ValueError(f"must be one of {', '.join(self.allowed)}")
        return value


def _check_magnitude(value: float) -> None:
    """Numbers the engine can compare: finite, and within the contracts' default range."""
    if not (isinstance(value, int) or math.isfinite(value)) or not -MAX_MAGNITUDE <= value <= MAX_MAGNITUDE:
        raise ValueError(f"must be a finite number within +/-{MAX_MAGNITUDE:g}")


@dataclass(frozen=True)
class Param:
    """A parameter of an action: its type (an input type, or ``text_list``), bounds."""

    type: str
    required: bool = True
    allowed: tuple = ()
    minimum: float | None = None
    maximum: float | None = None
    description: str = ""

    def check(self, value: Any) -> Any:
        if self.type == "text_list":
            if isinstance(value, str):
                value = [part.strip() for part in value.split(",") if part.strip()]
            if not isinstance(value, list) or not all(isinstance(v, str) for v in value):
                raise ValueError("must be a list of text")
            bad = [v for v in value if self.allowed and v not in self.allowed]
            if bad:
                raise ValueError(f"{', '.join(bad)} not among {', '.join(self.allowed)}")
            return value
        value = InputSpec("", self.type, allowed=self.allowed).convert(value)
        if self.minimum is not None and value < self.minimum:
            raise ValueError(f"must be at least {self.minimum:g}")
        if self.maximum is not None and value > self.maximum:
            raise ValueError(f"must be at most {self.maximum:g}")
        return value


@dataclass(frozen=True)
class ActionSpec:
    """A named action of a domain's vocabulary; ``apply(outputs, params)`` changes the outputs."""

    name: str
    params: Mapping[str, Param]
    apply: Callable[[dict, dict], None]
    description: str = ""


@dataclass(frozen=True)
class Vocabulary:
    actions: Mapping[str, ActionSpec]

    @classmethod
    def of(cls, *actions: ActionSpec) -> Vocabulary:
        return cls({action.name: action for action in actions})


@dataclass(frozen=True)
class RuleSetKind:
    """A rule set a service owns: its name, action vocabulary and shipped default, and the
    facts the service supplies (name -> type and, for one_of, every value it may send).
    A document may only declare inputs among these facts, typed as they are, so a
    published version can never ask for something the service does not have."""

    name: str
    vocabulary: Vocabulary
    default_path: Any  # pathlib.Path of the default document
    facts: Mapping[str, InputSpec] = field(default_factory=dict)  # empty: no restriction
    # Checks of the whole compiled document a service adds (e.g. bands without gaps):
    # each returned message is a validation error, so such a version is never published.
    check: Callable[[Any], list[str]] | None = None
    # Names analysts reach for that are not facts -> the supplied fact they mean (the
    # validator's hint; docs/rules.md lists them beside the supplied facts).
    aliases: Mapping[str, str] = field(default_factory=dict)
    # Facts renamed since versions were stored: old name -> current name. A stored version
    # that still uses an old name is loaded with the current one (its text stays as stored).
    renamed: Mapping[str, str] = field(default_factory=dict)

    def with_current_names(self, source: str) -> str:
        """The document's text with every renamed fact under its current name."""
        for old, new in self.renamed.items():
            source = re.sub(rf"\b{re.escape(old)}\b", new, source)
        return source


def supplied_facts(
    always: Mapping[str, str | tuple], sometimes: Mapping[str, str | tuple] = ()
) -> dict[str, InputSpec]:
    """Facts a service supplies, each as a type (``"decimal"``) or a tuple of every value of
    a one_of: those in every decision, and those it supplies only when it knows them."""

    def spec(name: str, kind: str | tuple, required: bool) -> InputSpec:
        if isinstance(kind, tuple):
            return InputSpec(name, "one_of", required=required, allowed=kind)
        return InputSpec(name, kind, required=required)

    facts = {name: spec(name, kind, True) for name, kind in always.items()}
    facts.update({name: spec(name, kind, False) for name, kind in dict(sometimes).items()})
    return facts


@dataclass
class ActionCall:
    name: str
    params: dict


@dataclass
class Rule:
    id: str
    condition: Any
    actions: list[ActionCall]
    priority: int = 0
    description: str = ""
    line: int = 0
    # 1-based row of the decision table it was read from, 0 for `rules:` (where it was
    # written, not what it is: not compared)
    table_row: int = field(default=0, compare=False)


@dataclass
class TestCase:
    name: str
    given: dict
    expect: dict
    fired: list | None = None
    line: int = 0


@dataclass
class RuleSetDocument:
    name: str
    description: str
    hit_policy: str
    inputs: dict[str, InputSpec]
    rules: list[Rule] = field(default_factory=list)
    tests: list[TestCase] = field(default_factory=list)
    table_columns: tuple = ()  # the decision table's condition columns, if it has one
    table_rows: tuple = ()  # ids of the rules that are rows of that table
