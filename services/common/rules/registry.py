"""The rule sets a process decides with, kept in step with the store.

A background thread polls the store for the active version of each rule set; a new
version is compiled off the request path and swapped in atomically. A decision in
flight finishes on the version it started with (releasing a version waits for it);
a version that fails to load is logged and counted, and the previous one keeps serving.
Decisions are served as ``serve_from`` says (engine.SERVE_FROM), ``shadow_share`` of the
generated function's checked through durable-rules.

The same poll activates a version scheduled for a moment once that moment has come
(``now()``); the store's conditional update makes exactly one replica record it, and
every replica then loads it like any other newly active version.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Iterable

from sqlalchemy.engine import Engine
from sqlalchemy.exc import IntegrityError

from services.common.errors import AlreadyExists, FailedPrecondition, NotFound
from services.common.rules import metrics
from services.common.rules.engine import SERVE_FROM, CompiledRuleSet, Decision, RuleSetClosed
from services.common.rules.model import RuleSetKind
from services.common.rules.store import RuleSetStore
from services.common.rules.validation import validate
from services.common.server import StartupError
from services.common.times import now

log = logging.getLogger("retailcare.rules")
SYSTEM_AUTHOR = "system"


class RuleSetRegistry:
    def __init__(
        self,
        engine: Engine,
        kinds: Iterable[RuleSetKind],
        poll_seconds: float = 0.5,
        serve_from: str = "generated",
        shadow_share: float = 0.01,
    ):
        if serve_from not in SERVE_FROM:
            raise ValueError(f"serve_from must be one of {', '.join(SERVE_FROM)}, got {serve_from!r}")
        self.kinds = {kind.name: kind for kind in kinds}
        self.store = RuleSetStore(engine)
        self.poll_seconds = poll_seconds
        self.serve_from = serve_from
        self.shadow_share = shadow_share
        self._serving: dict[str, CompiledRuleSet] = {}
        self._failed: dict[str, int] = {}  # rule set -> version that failed to load
        self._waiting: set[tuple[str, str]] = set()  # (rule set, version) labels of the gauge
        self._refresh_lock = threading.Lock()
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None

    # -- start-up -----------------------------------------------------------------
    def load_defaults(self) -> None:
        """On first start, each shipped default document becomes version 1."""
        for kind in self.kinds.values():
            if kind.name in self.store.active_versions():
                continue
            source = kind.default_path.read_text(encoding="utf-8")
            result = validate(source, self.kinds)
            if not result.valid:
                problems = "; ".join(str(d) for d in result.errors)
                raise RuntimeError(f"the shipped default {kind.default_path.name} is invalid: {problems}")
            result.compiled.close()
            try:
                self.store.publish(
                    kind.name, source, SYSTEM_AUTHOR, "default rule set shipped with the service"
                )
            except (AlreadyExists, IntegrityError):
                pass  # another replica loaded it first

    def start(self) -> None:
        self.refresh()
        missing = sorted(set(self.kinds) - set(self._serving))
        if missing:
            raise StartupError(
                f"no loadable active version of {', '.join(missing)} (the log names each problem;"
                " publish or activate a valid version)"
            )
        self._thread = threading.Thread(target=self._poll, name="rules-reload", daemon=True)
        self._thread.start()

    def stop(self) -> None:
        self._stop.set()
        if self._thread is not None:
            self._thread.join(5)
        with self._refresh_lock:
            for compiled in self._serving.values():
                compiled.close()
            self._serving.clear()

    def _poll(self) -> None:
        while not self._stop.wait(self.poll_seconds):
            try:
                self.refresh()
            except Exception:  # the store may be briefly unreachable; keep serving
                log.exception("checking for new rule-set versions failed")

    # -- reloading ------------------------------------------------------------------
    def refresh(self) -> None:
        """Activates scheduled versions that are due, then loads every rule set whose
        active version differs from the one serving."""
        with self._refresh_lock:
            for due in self.store.activate_due(now()):
                log.info(
                    "rule set version activated as scheduled",
                    extra={"rule_set": due.rule_set, "version": due.version},
                )
            self._export_waiting()
            for name, version in self.store.active_versions().items():
                if name not in self.kinds:
                    continue
                current = self._serving.get(name)
                if (current and current.version == version) or self._failed.get(name) == version:
                    continue
                self._load(name, version, current)

    def _export_waiting(self) -> None:
        """``rules_scheduled_activation_timestamp_seconds`` for each version still waiting."""
        waiting = {}
        for record in self.store.scheduled():
            if record.rule_set in self.kinds:
                waiting[(record.rule_set, str(record.version))] = record.activate_at.timestamp()
        for labels in self._waiting - set(waiting):
            metrics.SCHEDULED_ACTIVATION.remove(*labels)
        for labels, moment in waiting.items():
            metrics.SCHEDULED_ACTIVATION.labels(*labels).set(moment)
        self._waiting = set(waiting)

    def _load(self, name: str, version: int, current: CompiledRuleSet | None) -> None:
        record = self.store.get(name, version)
        result = validate(record.source, self.kinds, version)
        current_names = self.kinds[name].with_current_names(record.source)
        if not result.valid and current_names != record.source:
            result = validate(current_names, self.kinds, version)
            if result.valid:
                log.warning(
                    "rule set version stored with facts since renamed; loaded under their current"
                    " names (publish it again to store them)",
                    extra={"rule_set": name, "version": version, "renamed": dict(self.kinds[name].renamed)},
                )
        if not result.valid:
            self._failed[name] = version
            metrics.RELOADS.labels(name, "failure").inc()
            log.error(
                "rule set version failed to load; the previous version keeps serving",
                extra={
                    "rule_set": name,
                    "version": version,
                    "serving_version": current.version if current else None,
                    "problems": [str(d) for d in result.errors],
                },
            )
            return
        result.compiled.serve_with(self.serve_from, self.shadow_share)
        self._serving[name] = result.compiled  # the swap: one reference assignment
        self._failed.pop(name, None)
        metrics.RELOADS.labels(name, "success").inc()
        metrics.ACTIVE_VERSION.labels(name).set(version)
        log.info("rule set version loaded", extra={"rule_set": name, "version": version})
        if current is not None:
            current.close()  # waits for a decision in flight on it

    # -- deciding -------------------------------------------------------------------
    def serving(self, name: str) -> CompiledRuleSet:
        compiled = self._serving.get(name)
        if compiled is None:
            if name not in self.kinds:
                raise NotFound("rule set", name)
            raise FailedPrecondition(f"rule set {name} is not loaded yet", subject=name)
        return compiled

    def serving_version(self, name: str) -> int:
        compiled = self._serving.get(name)
        return compiled.version if compiled else 0

    def decide(self, name: str, facts: dict) -> Decision:
        """A live decision, served as configured (CompiledRuleSet.serve)."""
        while True:
            try:
                return self.serving(name).serve(facts)
            except RuleSetClosed:
                continue  # swapped between lookup and start; decide on the new version

    def dry_run(self, name: str, facts: dict) -> Decision:
        """The version serving decides through durable-rules, the engine of record, without the memo."""
        while True:
            try:
                return self.serving(name).decide(facts, memoise=False)
            except RuleSetClosed:
                continue
