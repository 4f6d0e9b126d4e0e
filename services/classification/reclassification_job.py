"""Automatic reclassification: when a new version of a rule set that decides stored results
becomes active (publish, activate, rollback), every active customer is reclassified on it.

Each process runs one background thread. It starts the job of each activation (a row in
reclassification_jobs; the job of an older version still running is cancelled and
replaced) and runs a job whose lease is free or expired, batch by batch through the
reclassify use case, saving its progress and renewing its lease after each batch. A job
whose lease holder died is taken over after the lease expires and continues after the
last customer it saved. A process stopping in an orderly way releases its lease after the
batch in hand, so another replica continues at once."""

from __future__ import annotations

import datetime
import logging
import os
import socket
import threading
import uuid

from services.classification import metrics
from services.classification.domain import ENTITLEMENTS_RULE_SET, GRADING_RULE_SET
from services.classification.job_store import COMPLETED, RUNNING, Job, JobStore
from services.classification.ports import CustomerQuery
from services.common import paging
from services.common.errors import InvalidArgument, NotFound
from services.common.times import now

log = logging.getLogger("retailcare.classification")
RULE_SETS = (GRADING_RULE_SET, ENTITLEMENTS_RULE_SET)
LEASE = datetime.timedelta(seconds=30)
DEFAULT_PAGE_SIZE = 20
MAX_PAGE_SIZE = 100


def _checked(rule_set: str) -> str:
    if rule_set not in RULE_SETS:
        raise InvalidArgument([("rule_set", f"must be one of {', '.join(RULE_SETS)}")])
    return rule_set


class JobReads:
    """The jobs and their progress, as the contract reads them."""

    def __init__(self, store: JobStore):
        self.store = store

    def latest(self, rule_set: str) -> Job:
        job = self.store.latest(_checked(rule_set))
        if job is None:
            raise NotFound("reclassification job of", rule_set)
        return job

    def list(self, rule_set: str, page_size: int) -> list[Job]:
        size = paging.page_size(page_size, DEFAULT_PAGE_SIZE, MAX_PAGE_SIZE)
        return self.store.list(_checked(rule_set) if rule_set else "", size)


class ReclassificationJobs:
    def __init__(self, store: JobStore, registry, use_cases, batch_size: int, poll_seconds: float):
        self.store = store
        self.registry = registry
        self.use_cases = use_cases
        self.batch_size = batch_size
        self.poll_seconds = poll_seconds
        self.owner = f"{socket.gethostname()}-{os.getpid()}-{uuid.uuid4().hex[:8]}"
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None

    def start(self) -> None:
        self._thread = threading.Thread(target=self._loop, name="reclassification-jobs", daemon=True)
        self._thread.start()

    def stop(self) -> None:
        self._stop.set()
        if self._thread is not None:
            self._thread.join(10)

    def _loop(self) -> None:
        while not self._stop.wait(self.poll_seconds):
            for rule_set in RULE_SETS:
                try:
                    self.step(rule_set)
                except Exception:  # the database may be briefly unreachable; try again next time
                    log.exception("reclassification job step failed", extra={"rule_set": rule_set})
                    metrics.JOBS.labels(rule_set, "failed").inc()

    def step(self, rule_set: str) -> None:
        """Starts the job of the active version if it has none; runs the latest job if
        this process serves its version and can take its lease."""
        active = self.registry.store.active_versions().get(rule_set)
        latest = self.store.latest(rule_set)
        if active and (latest is None or latest.version != active):
            if self.store.replace(latest, rule_set, active, now()):
                if latest is not None and latest.state == RUNNING:
                    metrics.JOBS.labels(rule_set, "cancelled").inc()
                log.info("reclassification job started", extra={"rule_set": rule_set, "version": active})
            latest = self.store.latest(rule_set)
        if latest is None or latest.state != RUNNING:
            return
        if self.registry.serving_version(rule_set) != latest.version:
            return  # this process has not loaded that version yet; it decides on the old one
        moment = now()
        if self.store.take_lease(latest, self.owner, moment, moment + LEASE):
            self._run(latest)

    def _run(self, job: Job) -> None:
        done, changed, failed, skipped = job.done, job.changed, job.failed, job.skipped
        last_id = job.last_customer_id
        progress = None
        for progress in self.use_cases.reclassify(
            CustomerQuery(), job.last_customer_id, self.batch_size, rule_set=job.rule_set
        ):
            moment = now()
            kept = self.store.save_progress(
                job,
                self.owner,
                moment,
                moment + LEASE,
                total=progress.total,
                done=done + progress.processed,
                changed=changed + progress.changed,
                failed=failed + progress.failed,
                skipped=skipped + progress.skipped,
                last_customer_id=progress.last_id,
            )
            if not kept:
                return  # cancelled or taken over
            if self._stop.is_set():  # an orderly stop: the next replica need not wait for the expiry
                if self.store.release(job, self.owner, now()):
                    log.info(
                        "reclassification job lease released",
                        extra={
                            "rule_set": job.rule_set,
                            "version": job.version,
                            "done": done + progress.processed,
                        },
                    )
                return
            last_id = progress.last_id
        processed = progress.processed if progress else 0
        moment = now()
        ended = self.store.save_progress(
            job,
            self.owner,
            moment,
            None,
            state=COMPLETED,
            total=done + processed,
            done=done + processed,
            last_customer_id=last_id,
        )
        if ended:
            metrics.JOBS.labels(job.rule_set, "completed").inc()
            log.info(
                "reclassification job completed", extra={"rule_set": job.rule_set, "version": job.version}
            )
