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

from services.classification import metrics
from services.classification.domain import ENTITLEMENTS_RULE_SET, GRADING_RULE_SET
from services.classification.job_store import Job, JobStore
from services.classification.ports import CustomerQuery
from services.common import paging
from services.common.errors import InvalidArgument, NotFound
from services.common.leased_jobs import ActivationJobs

log = logging.getLogger("retailcare.classification")
RULE_SETS = (GRADING_RULE_SET, ENTITLEMENTS_RULE_SET)
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


class ReclassificationJobs(ActivationJobs):
    """The background thread of one process over both rule sets' jobs; a run reclassifies
    the customers after the last saved one, batch by batch."""

    thread_name = "reclassification-jobs"
    job_name = "reclassification job"
    log = log

    def __init__(
        self,
        store: JobStore,
        registry,
        use_cases,
        batch_size: int,
        poll_seconds: float,
        settling: datetime.timedelta | None = None,
    ):
        super().__init__(store, registry, RULE_SETS, poll_seconds, settling)
        self.use_cases = use_cases
        self.batch_size = batch_size

    def latest(self, rule_set: str) -> Job | None:
        return self.store.latest(rule_set)

    def replace(self, previous: Job | None, rule_set: str, version: int, moment) -> bool:
        return self.store.replace(previous, rule_set, version, moment)

    def count(self, rule_set: str, outcome: str) -> None:
        metrics.JOBS.labels(rule_set, outcome).inc()

    def run(self, job: Job) -> None:
        done, changed, failed, skipped = job.done, job.changed, job.failed, job.skipped
        last_id = job.last_customer_id
        progress = None
        for progress in self.use_cases.reclassify(
            CustomerQuery(), job.last_customer_id, self.batch_size, rule_set=job.rule_set, version=job.version
        ):
            if not self.checkpoint(
                job,
                total=progress.total,
                done=done + progress.processed,
                changed=changed + progress.changed,
                failed=failed + progress.failed,
                skipped=skipped + progress.skipped,
                last_customer_id=progress.last_id,
            ) or self._superseded(job):
                return
            last_id = progress.last_id
        if progress is not None:
            done, changed, skipped = (
                done + progress.processed,
                changed + progress.changed,
                skipped + progress.skipped,
            )
        if self._superseded(job):
            return
        last_pass = None
        for report in self.use_cases.reclassify_stragglers(self.batch_size, job.rule_set, job.version):
            last_pass = report  # each report counts the whole pass so far
        if self._superseded(job):  # a pass cut short by a newer version: not this job's end
            return
        if last_pass is not None:
            changed, skipped = changed + last_pass.changed, skipped + last_pass.skipped
        # A customer that could not be reclassified stays on the old versions, so every last
        # pass looks at it again: the failures are the latest last pass's, not a sum of them.
        failed = last_pass.failed if last_pass is not None else 0
        counts = {"changed": changed, "failed": failed, "skipped": skipped, "last_customer_id": last_id}
        self.finish(job, job.rule_set, total=done, done=done, **counts)

    def _superseded(self, job: Job) -> bool:
        """True, with the lease given back, when a newer version of the job's rule set
        serves in this process: the batches would be decided on it and counted in this
        job (a settling job's last pass too), so the run stops and leaves the customers to
        that version's job, which replaces this one at the next poll (as complaints'
        policy-follow job does with a stale batch)."""
        if self.registry.serving_version(job.rule_set) == job.version:
            return False
        self.release(job)
        return True
