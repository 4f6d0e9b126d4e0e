"""The versioned rule-set store in the owning service's database: immutable versions,
one active version per rule set, activations scheduled for a moment, an append-only
audit log."""

from __future__ import annotations

import datetime
import difflib
import hashlib
from dataclasses import dataclass

from sqlalchemy import func, update
from sqlalchemy.engine import Engine
from sqlalchemy.exc import IntegrityError
from sqlmodel import Field, Session, SQLModel, select

from services.common.database import unit_of_work
from services.common.errors import AlreadyExists, FailedPrecondition, NotFound
from services.common.times import now, utc

WRITE_ATTEMPTS = 3  # concurrent publishers race for the next version number


class RuleSetVersionRow(SQLModel, table=True):
    __tablename__ = "rule_set_versions"
    id: int | None = Field(default=None, primary_key=True)
    rule_set: str
    version: int
    checksum: str
    author: str
    comment: str
    created_at: datetime.datetime
    source: str


class RuleSetActiveRow(SQLModel, table=True):
    __tablename__ = "rule_set_active"
    rule_set: str = Field(primary_key=True)
    version: int
    activated_at: datetime.datetime


class RuleSetAuditRow(SQLModel, table=True):
    __tablename__ = "rule_set_audit"
    id: int | None = Field(default=None, primary_key=True)
    rule_set: str
    version: int
    action: str
    actor: str
    comment: str
    at: datetime.datetime


class RuleSetScheduleRow(SQLModel, table=True):
    """A version to activate at a moment; state: waiting, activated or cancelled."""

    __tablename__ = "rule_set_schedule"
    id: int | None = Field(default=None, primary_key=True)
    rule_set: str
    version: int
    activate_at: datetime.datetime
    author: str
    comment: str
    state: str


WAITING, ACTIVATED, CANCELLED = "waiting", "activated", "cancelled"
SCHEDULED_COMMENT = "activated as scheduled"


@dataclass(frozen=True)
class ScheduleRecord:
    rule_set: str
    version: int
    activate_at: datetime.datetime
    author: str
    comment: str


@dataclass(frozen=True)
class VersionRecord:
    rule_set: str
    version: int
    checksum: str
    author: str
    comment: str
    created_at: datetime.datetime
    source: str
    active: bool


@dataclass(frozen=True)
class AuditRecord:
    rule_set: str
    version: int
    action: str
    actor: str
    comment: str
    at: datetime.datetime


def checksum_of(source: str) -> str:
    return hashlib.sha256(source.encode("utf-8")).hexdigest()


class RuleSetStore:
    def __init__(self, engine: Engine):
        self.engine = engine

    # -- reading ----------------------------------------------------------------
    def active_versions(self) -> dict[str, int]:
        with Session(self.engine) as session:
            return {row.rule_set: row.version for row in session.exec(select(RuleSetActiveRow))}

    def latest_versions(self) -> dict[str, int]:
        with Session(self.engine) as session:
            query = select(RuleSetVersionRow.rule_set, func.max(RuleSetVersionRow.version)).group_by(
                RuleSetVersionRow.rule_set
            )
            return dict(session.exec(query).all())

    def activated_at(self, name: str) -> datetime.datetime | None:
        with Session(self.engine) as session:
            row = session.get(RuleSetActiveRow, name)
            return utc(row.activated_at) if row else None

    def get(self, name: str, version: int = 0) -> VersionRecord:
        """A stored version; version 0 means the active one."""
        with Session(self.engine) as session:
            active = session.get(RuleSetActiveRow, name)
            wanted = version or (active.version if active else 0)
            row = session.exec(
                select(RuleSetVersionRow).where(
                    RuleSetVersionRow.rule_set == name, RuleSetVersionRow.version == wanted
                )
            ).first()
            if row is None:
                what = f"{name} version {version}" if version else f"{name} (active version)"
                raise NotFound("rule set", what)
            return self._record(row, active)

    def versions(self, name: str, offset: int, limit: int) -> list[VersionRecord]:
        """Newest first."""
        with Session(self.engine) as session:
            active = session.get(RuleSetActiveRow, name)
            rows = session.exec(
                select(RuleSetVersionRow)
                .where(RuleSetVersionRow.rule_set == name)
                .order_by(RuleSetVersionRow.version.desc())
                .offset(offset)
                .limit(limit)
            ).all()
            return [self._record(row, active) for row in rows]

    def audit(self, name: str, offset: int, limit: int) -> list[AuditRecord]:
        """Newest first."""
        with Session(self.engine) as session:
            rows = session.exec(
                select(RuleSetAuditRow)
                .where(RuleSetAuditRow.rule_set == name)
                .order_by(RuleSetAuditRow.id.desc())
                .offset(offset)
                .limit(limit)
            ).all()
            return [AuditRecord(r.rule_set, r.version, r.action, r.actor, r.comment, utc(r.at)) for r in rows]

    def scheduled(self, name: str = "") -> list[ScheduleRecord]:
        """Activations still waiting (of one rule set, or all), soonest first."""
        with Session(self.engine) as session:
            query = select(RuleSetScheduleRow).where(RuleSetScheduleRow.state == WAITING)
            if name:
                query = query.where(RuleSetScheduleRow.rule_set == name)
            rows = session.exec(query).all()
        records = [
            ScheduleRecord(r.rule_set, r.version, utc(r.activate_at), r.author, r.comment) for r in rows
        ]
        return sorted(records, key=lambda r: (r.activate_at, r.rule_set, r.version))

    def diff(self, name: str, from_version: int, to_version: int) -> str:
        old, new = self.get(name, from_version), self.get(name, to_version)
        return "".join(
            difflib.unified_diff(
                old.source.splitlines(keepends=True),
                new.source.splitlines(keepends=True),
                fromfile=f"{name} v{old.version}",
                tofile=f"{name} v{new.version}",
            )
        )

    @staticmethod
    def _record(row: RuleSetVersionRow, active: RuleSetActiveRow | None) -> VersionRecord:
        return VersionRecord(
            rule_set=row.rule_set,
            version=row.version,
            checksum=row.checksum,
            author=row.author,
            comment=row.comment,
            created_at=utc(row.created_at),
            source=row.source,
            active=bool(active and active.version == row.version),
        )

    # -- writing ----------------------------------------------------------------
    def publish(
        self,
        name: str,
        source: str,
        author: str,
        comment: str,
        activate: bool = True,
        activate_at: datetime.datetime | None = None,
    ) -> VersionRecord:
        """Stores the next version (checked before: validation is the caller's job); with
        ``activate_at`` it waits for that moment instead of becoming active now."""
        checksum = checksum_of(source)
        moment_due = activate_at.astimezone(datetime.UTC) if activate_at is not None else None

        def write() -> int:
            with unit_of_work(self.engine) as session:
                same = session.exec(
                    select(RuleSetVersionRow.version).where(
                        RuleSetVersionRow.rule_set == name, RuleSetVersionRow.checksum == checksum
                    )
                ).first()
                if same is not None:
                    raise AlreadyExists(
                        "rule set version",
                        f"{name} v{same}",
                        f"this text is already stored as {name} version {same}; activate that version instead",
                    )
                latest = session.exec(
                    select(func.max(RuleSetVersionRow.version)).where(RuleSetVersionRow.rule_set == name)
                ).one()
                version = (latest or 0) + 1
                moment = now()
                session.add(
                    RuleSetVersionRow(
                        rule_set=name,
                        version=version,
                        checksum=checksum,
                        author=author,
                        comment=comment,
                        created_at=moment,
                        source=source,
                    )
                )
                _audit(session, name, version, "publish", author, comment, moment)
                if moment_due is not None:
                    session.add(
                        RuleSetScheduleRow(
                            rule_set=name,
                            version=version,
                            activate_at=moment_due,
                            author=author,
                            comment=comment,
                            state=WAITING,
                        )
                    )
                    _audit(
                        session,
                        name,
                        version,
                        "schedule",
                        author,
                        f"to activate at {moment_due.isoformat()}",
                        moment,
                    )
                elif activate:
                    _set_active(session, name, version, author, comment, moment)
                return version

        return self.get(name, _retrying(write))

    def activate(self, name: str, version: int, actor: str, comment: str) -> tuple[VersionRecord, int]:
        """Makes a stored version active; returns it and the previously active version."""
        record = self.get(name, version)

        def write() -> int:
            with unit_of_work(self.engine) as session:
                return _set_active(session, name, version, actor, comment, now())

        return record, _retrying(write)

    def cancel_scheduled(self, name: str, version: int, actor: str, comment: str) -> ScheduleRecord:
        """Withdraws a waiting activation; refused once it has happened or was withdrawn."""
        with unit_of_work(self.engine) as session:
            row = session.exec(
                select(RuleSetScheduleRow).where(
                    RuleSetScheduleRow.rule_set == name, RuleSetScheduleRow.version == version
                )
            ).first()
            if row is None:
                raise NotFound("scheduled activation", f"{name} v{version}")
            record = ScheduleRecord(row.rule_set, row.version, utc(row.activate_at), row.author, row.comment)
            if not _claim(session, row.id, CANCELLED):
                state = session.exec(
                    select(RuleSetScheduleRow.state).where(RuleSetScheduleRow.id == row.id)
                ).one()
                raise FailedPrecondition(
                    f"the activation of {name} version {version} is already {state}", name
                )
            _audit(session, name, version, "cancel", actor, comment, now())
            return record

    def activate_due(self, moment: datetime.datetime) -> list[ScheduleRecord]:
        """Activates every waiting version whose moment has come. Each is claimed with a
        conditional UPDATE, so of several replicas polling at once exactly one records it;
        returns the ones this call activated."""
        done = []
        for due in (r for r in self.scheduled() if r.activate_at <= moment):
            with unit_of_work(self.engine) as session:
                row_id = session.exec(
                    select(RuleSetScheduleRow.id).where(
                        RuleSetScheduleRow.rule_set == due.rule_set, RuleSetScheduleRow.version == due.version
                    )
                ).one()
                if _claim(session, row_id, ACTIVATED):
                    _set_active(session, due.rule_set, due.version, due.author, SCHEDULED_COMMENT, moment)
                    done.append(due)
        return done


def _retrying(write):
    """Runs a write transaction again when a concurrent writer took the same key first."""
    for attempt in range(WRITE_ATTEMPTS):
        try:
            return write()
        except IntegrityError:
            if attempt == WRITE_ATTEMPTS - 1:
                raise
    return None


def _claim(session, row_id: int, state: str) -> bool:
    """Moves a waiting activation to ``state``; False when another writer moved it first."""
    result = session.execute(
        update(RuleSetScheduleRow)
        .where(RuleSetScheduleRow.id == row_id, RuleSetScheduleRow.state == WAITING)
        .values(state=state)
    )
    return result.rowcount == 1


def _audit(session, name: str, version: int, action: str, actor: str, comment: str, moment) -> None:
    session.add(
        RuleSetAuditRow(
            rule_set=name, version=version, action=action, actor=actor, comment=comment, at=moment
        )
    )


def _set_active(session, name: str, version: int, actor: str, comment: str, moment) -> int:
    """Points the rule set at a version; returns the version it pointed at before (0: none)."""
    row = session.get(RuleSetActiveRow, name, with_for_update=True)
    previous = row.version if row else 0
    if row is None:
        session.add(RuleSetActiveRow(rule_set=name, version=version, activated_at=moment))
    else:
        row.version, row.activated_at = version, moment
        session.add(row)
    _audit(session, name, version, "activate", actor, comment, moment)
    return previous
