"""Compiled rule sets and decisions.

durable-rules decides which rules match: each rule compiles to one durable rule whose
action is named after the rule id and resolved through a Host subclass. The domain's
actions are then applied in Python, in priority order, to build the outputs.

Live decisions (:meth:`CompiledRuleSet.serve`) come from a Python function generated
from the same normalised conditions (codegen.py); validation refuses a version whose two
compilations disagree anywhere (differential.py), and a sample of live decisions is
checked through durable-rules again. durable-rules stays the engine of record: it
decides explanations, dry runs and embedded tests (:meth:`CompiledRuleSet.decide`), and
a setting serves from it alone.

Where the time goes: the stock Host path wraps every fired action in a Closure and a
Promise and writes the state back as JSON, about 12 us per fired rule; a grading
decision fires ~18 rules. Our actions never change the state, so the fast path drives
the engine's C calls directly (assert, then start/complete each queued action) and
skips the write-back; it is several times faster and gives the same matches, which the
tests check against the Host path and a plain-Python evaluator. On top of that, a memo
keyed on what the conditions can tell apart about the facts skips the engine entirely
for inputs it has seen.

Measured facts this respects (docs/design.md, section 6): the stock Host's
timer threads crashed the process under concurrent decisions, so ours has none and
each compiled rule set serialises its decisions with a lock; a ruleset holds at most
1,024 live sids, so each decision deletes its state in ``finally``; a fact that matched
nothing, followed by another assert, crashed the process, so a sentinel rule matches
every fact; ``Ruleset`` mutates the dict it is given; exceptions in actions come back
inside the state.
"""

from __future__ import annotations

import bisect
import copy
import itertools
import json
import logging
import random
import threading
import time
from collections import Counter
from dataclasses import dataclass

import durable_rules_engine
from durable.engine import Host

from services.common.per_thread import PerThread
from services.common.rules import codegen, metrics
from services.common.rules import conditions as c
from services.common.rules.model import RuleSetDocument, Vocabulary

log = logging.getLogger("retailcare.rules")
CACHE_LIMIT = 4096
SERVE_FROM = ("generated", "durable")  # where live decisions come from (setting rules_serve_from)
_SENTINEL = "$always"  # the durable rule that matches every fact; not a document rule


class FactsError(ValueError):
    """Facts that do not fit the rule set's inputs; ``violations`` names each field."""

    def __init__(self, violations: list[tuple[str, str]]):
        super().__init__("; ".join(f"{f}: {w}" for f, w in violations))
        self.violations = violations


class RuleSetClosed(RuntimeError):
    """The version was superseded and released while a caller still held it."""


@dataclass(frozen=True)
class Decision:
    rule_set: str
    version: int
    outputs: dict
    fired: tuple[str, ...]
    seconds: float
    reasons: dict  # output (``grade``, ``services.scarce_brand_supply``) -> the rule that decided it


class _RecordingHost(Host):
    """A Host without the dispatch threads; every rule's action records its rule id."""

    def __init__(self, record):
        self._record = record
        super().__init__()

    def _run(self):  # the stock loop dispatches timers we do not use, from other threads
        return

    def get_action(self, action_name):
        record = self._record
        return lambda closure: record(action_name)


class CompiledRuleSet:
    def __init__(self, document: RuleSetDocument, vocabulary: Vocabulary, version: int = 0):
        self.document = document
        self.vocabulary = vocabulary
        self.name = document.name
        self.version = version
        self._rules = {rule.id: rule for rule in document.rules}
        self._order = {rule.id: (-rule.priority, index) for index, rule in enumerate(document.rules)}
        normalised = [(rule.id, c.normalise(rule.condition)) for rule in document.rules]
        self.normalised = dict(normalised)
        self._python_tests = [(rule_id, c.to_python(condition)) for rule_id, condition in normalised]
        self._decimal_inputs = [name for name, spec in document.inputs.items() if spec.type == "decimal"]
        self._key_parts = _key_parts(normalised)
        self._cache: dict[tuple, tuple[tuple[str, ...], dict, dict]] = {}
        self._lock = threading.Lock()
        self._matched: list[str] = []
        self._sids = itertools.count()
        self.closed = False
        definition = {
            f"r{index}": {"all": [{"m": c.to_durable_rule(condition)}], "run": rule_id}
            for index, (rule_id, condition) in enumerate(normalised)
        }
        definition[_SENTINEL] = {"all": [{"m": c.to_durable_rule(c.TRUE)}], "run": _SENTINEL}
        self._rule_of_engine_name = {f"r{index}": rule_id for index, (rule_id, _) in enumerate(normalised)}
        self._host = _RecordingHost(self._matched.append)
        self._engine_name = f"rs{id(self)}"
        self._host.register_rulesets({self._engine_name: copy.deepcopy(definition)})
        self._handle = self._host.get_ruleset(self._engine_name)._handle
        in_order = sorted(document.rules, key=lambda rule: self._order[rule.id])
        actions = {name: spec.apply for name, spec in vocabulary.actions.items()}
        self.decide_generated, self.generated_source = codegen.decision_function(
            in_order, self.normalised, actions, document.hit_policy, f"{self.name} v{version}"
        )
        self.serve_from = "generated"
        self.shadow_share = 0.0
        # Counted at scrape time from each thread's own tally (metrics.DecisionCounts): a
        # decision adds to a few numbers and takes no lock; fired rules are counted per
        # combination, one increment per decision instead of one per fired rule.
        self._tallies = PerThread(metrics.Tally)
        metrics.DECISION_COUNTS.track(self)
        self._shadow_checks = metrics.SHADOW_CHECKS.labels(self.name)
        self._shadow_mismatches = metrics.SHADOW_MISMATCHES.labels(self.name)

    def serve_with(self, serve_from: str, shadow_share: float) -> None:
        """How :meth:`serve` decides: from the generated function with ``shadow_share`` of
        its decisions checked through durable-rules, or from durable-rules alone."""
        if serve_from not in SERVE_FROM:
            raise ValueError(f"serve_from must be one of {', '.join(SERVE_FROM)}, got {serve_from!r}")
        self.serve_from = serve_from
        self.shadow_share = shadow_share

    # -- facts ----------------------------------------------------------------
    def prepare_facts(self, facts: dict) -> dict:
        """Facts in the engine's form; FactsError names every field that does not fit."""
        violations = []
        prepared = {}
        for name, value in facts.items():
            spec = self.document.inputs.get(name)
            if spec is None:
                violations.append((name, f"not an input of rule set {self.name}"))
            elif value is not None:
                try:
                    prepared[name] = spec.convert(value)
                except ValueError as problem:
                    violations.append((name, str(problem)))
        for name, spec in self.document.inputs.items():
            if spec.required and name not in prepared and name not in dict(violations):
                violations.append((name, "is required"))
        if violations:
            raise FactsError(violations)
        return prepared

    # -- matching -------------------------------------------------------------
    def match_with_engine(self, facts: dict) -> list[str]:
        """The fast path: the engine's C calls, no per-action write-back."""
        engine = durable_rules_engine
        with self._lock:
            if self.closed:
                raise RuleSetClosed(self.name)
            sid = str(next(self._sids))
            names = []
            try:
                fact = self._fact_json(facts, sid)
                state = engine.assert_fact(self._handle, fact)[1]
                started = engine.start_action_for_state(self._handle, state)
                message = started[1] if started else None
                while message:
                    names.append(message[2 : message.index('"', 2)])  # '{"r12": {...}}'
                    message = engine.complete_and_start_action(self._handle, state)
            finally:
                engine.delete_state(self._handle, sid)
        rule_of = self._rule_of_engine_name
        return [rule_of[name] for name in dict.fromkeys(names) if name in rule_of]

    def _fact_json(self, facts: dict, sid: str) -> str:
        """The fact as durable-rules reads it. Its parser refuses a number in exponent form
        without a decimal point (``1e-07``, as JSON writes numbers under 1e-4), so those
        are written with one (``1.0e-07``), member by member: a marker replaced in the
        whole text afterwards could be matched by a text fact."""
        fact = {**facts, "sid": sid, c.ALWAYS_PRESENT: 1}
        tiny = [name for name in self._decimal_inputs if -_PLAIN_BELOW < fact.get(name, 0) < _PLAIN_BELOW]
        tiny = [name for name in tiny if fact.get(name)]
        if not tiny:
            return json.dumps(fact, ensure_ascii=False)
        members = (
            json.dumps(name, ensure_ascii=False)
            + ": "
            + (_number_json(value) if name in tiny else json.dumps(value, ensure_ascii=False))
            for name, value in fact.items()
        )
        return "{" + ", ".join(members) + "}"

    def match_with_host(self, facts: dict) -> list[str]:
        """The stock path through Host.assert_fact: each fired action a full round trip."""
        with self._lock:
            if self.closed:
                raise RuleSetClosed(self.name)
            self._matched.clear()
            sid = str(next(self._sids))
            try:
                state = self._host.assert_fact(self._engine_name, {**facts, "sid": sid, c.ALWAYS_PRESENT: 1})
                if isinstance(state, dict) and state.get("exception"):
                    raise RuntimeError(f"rule action failed: {state['exception']}")
            finally:
                self._host.delete_state(self._engine_name, sid)
            matched = dict.fromkeys(self._matched)  # an `any` can match twice
            matched.pop(_SENTINEL, None)
            return list(matched)

    def match_with_python(self, facts: dict) -> list[str]:
        """The same matching in plain Python: the benchmark's baseline, the tests' reference."""
        return [rule_id for rule_id, test in self._python_tests if test(facts)]

    # -- deciding -------------------------------------------------------------
    def apply(self, matched: list[str]) -> tuple[tuple[str, ...], dict, dict]:
        """Applies the matched rules' actions in priority order: (fired, outputs, reasons)."""
        ordered = sorted(matched, key=self._order.__getitem__)
        if self.document.hit_policy == "first":
            ordered = ordered[:1]
        outputs: dict = {}
        reasons: dict = {}
        for rule_id in ordered:
            for call in self._rules[rule_id].actions:
                self.vocabulary.actions[call.name].apply(outputs, call.params)
            codegen.note_reasons(outputs, reasons, rule_id)
        return tuple(ordered), outputs, reasons

    def decision_key(self, facts: dict) -> tuple:
        """What the conditions can tell apart about these facts: equal keys, equal decisions."""
        key = []
        for name, literals in self._key_parts:
            value = facts.get(name)
            if value is None:
                key.append(None)
            else:
                position = bisect.bisect_left(literals, value)
                key.append((position, position < len(literals) and literals[position] == value))
        return tuple(key)

    def serve(self, facts: dict, *, prepared: bool = False) -> Decision:
        """A live decision: from the generated function, a sample of them checked through
        durable-rules (whose decision stands if they differ); or, when so configured, from
        durable-rules alone (:meth:`decide`)."""
        if self.serve_from == "durable":
            return self.decide(facts, prepared=prepared)
        started = time.perf_counter()
        try:
            facts = facts if prepared else self.prepare_facts(facts)
            fired, outputs, reasons = self.decide_generated(facts)
            if self.shadow_share and random.random() < self.shadow_share:
                fired, outputs, reasons = self.shadow_check(facts, (fired, outputs, reasons))
        except FactsError:
            self._tallies.mine().outcomes["invalid_facts"] += 1
            raise
        except RuleSetClosed:
            raise  # from the shadow check: the caller retries on the new version
        except Exception:
            self._tallies.mine().outcomes["error"] += 1
            raise
        elapsed = time.perf_counter() - started
        self._count(fired, elapsed)
        return Decision(self.name, self.version, outputs, fired, elapsed, reasons)

    def shadow_check(self, facts: dict, served: tuple) -> tuple:
        """durable-rules' decision on prepared facts, counted and logged when the served one differs."""
        self._shadow_checks.inc()
        try:
            engine = self.apply(self.match_with_engine(facts))
        except RuleSetClosed:
            raise
        except Exception:  # durable-rules could not decide: a disagreement, but the caller is served
            self._shadow_mismatches.inc()
            log.exception(
                "durable-rules could not decide facts the served function decided",
                extra={"rule_set": self.name, "version": self.version, "facts": facts},
            )
            return served
        if engine != served:
            self._shadow_mismatches.inc()
            log.error(
                "the served decision differs from durable-rules'; durable-rules' decision stands",
                extra={
                    "rule_set": self.name,
                    "version": self.version,
                    "facts": facts,
                    "served_fired": list(served[0]),
                    "durable_fired": list(engine[0]),
                },
            )
        return engine

    def decide(self, facts: dict, *, memoise: bool = True, prepared: bool = False) -> Decision:
        """A decision by durable-rules (the engine of record), behind the memo unless told not."""
        started = time.perf_counter()
        try:
            facts = facts if prepared else self.prepare_facts(facts)
            if memoise:
                key = self.decision_key(facts)
                hit = self._cache.get(key)
                if hit is None:
                    hit = self.apply(self.match_with_engine(facts))
                    if len(self._cache) >= CACHE_LIMIT:
                        self._cache.clear()
                    self._cache[key] = hit
                fired, outputs, reasons = hit[0], _copy(hit[1]), hit[2]
            else:
                fired, outputs, reasons = self.apply(self.match_with_engine(facts))
        except FactsError:
            self._tallies.mine().outcomes["invalid_facts"] += 1
            raise
        except RuleSetClosed:
            raise  # not an outcome: the caller retries on the new version
        except Exception:
            self._tallies.mine().outcomes["error"] += 1
            raise
        elapsed = time.perf_counter() - started
        self._count(fired, elapsed)
        return Decision(self.name, self.version, outputs, fired, elapsed, reasons)

    def _count(self, fired: tuple[str, ...], elapsed: float) -> None:
        """One decision in this thread's tally: its outcome, time and fired rules."""
        tally = self._tallies.mine()
        tally.outcomes["decided"] += 1
        tally.buckets[bisect.bisect_left(metrics.SECONDS_BUCKETS, elapsed)] += 1
        tally.seconds += elapsed
        counts = tally.fired
        counts[fired] = counts.get(fired, 0) + 1

    def tallies(self) -> list[metrics.Tally]:
        """Every thread's tally of this version (for the metrics, read at scrape time)."""
        return self._tallies.every()

    def close(self) -> None:
        """Releases the engine's memory; waits for a decision in flight to finish."""
        with self._lock:
            if not self.closed:
                self.closed = True
                durable_rules_engine.delete_ruleset(self._handle)
                self._host = None
                self._cache.clear()
                metrics.DECISION_COUNTS.retire(self)

    def fired_totals(self) -> Counter[str]:
        """Times each rule fired in this version's decisions."""
        totals: Counter[str] = Counter()
        for tally in self.tallies():
            for fired, count in dict(tally.fired).items():  # dict() copies in one step under the GIL
                for rule_id in fired:
                    totals[rule_id] += count
        return totals


_PLAIN_BELOW = 1e-4  # JSON (Python's repr) writes smaller numbers in exponent form


def _number_json(value: float) -> str:
    text = json.dumps(value)
    return text.replace("e", ".0e") if "e" in text and "." not in text else text


def _copy(value):
    """A copy of JSON-like outputs, several times faster than copy.deepcopy."""
    if isinstance(value, dict):
        return {key: _copy(item) for key, item in value.items()}
    if isinstance(value, list):
        return [_copy(item) for item in value]
    return value


def _key_parts(normalised) -> list[tuple[str, list]]:
    literals: dict[str, set] = {}
    for _, condition in normalised:
        for test in c.comparisons(condition):
            values = literals.setdefault(test.input, set())
            if isinstance(test, c.Compare):
                values.add(test.value)
    return [(name, sorted(values)) for name, values in sorted(literals.items())]
