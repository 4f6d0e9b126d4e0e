"""The card follower: issues the next commitment-card version when a customer's
entitlements change, dated at the change, whether or not anyone asks for the card.

Every ``card_follow_seconds`` one replica (the holder of the lease of the one
``card_follow_jobs`` row) reads classification's change feed after its cursor, in pages,
and per page issues the versions the changes make (services/evaluation/domain/card_follow.py)
and moves the cursor, in one transaction. It reads on while a page says changes were left
after it, and otherwise waits for the next poll: under a steady stream of classifications
a follower that asked again at once would fetch a few changes a call, costing both
services more per change than a page read every poll. Pull, not push: nothing is lost
while evaluation or classification is down; the follower catches up from its cursor when
both are back.
"""

from __future__ import annotations

import datetime
import functools
import logging
import threading
from collections.abc import Callable

from services.common.leased_jobs import LEASE, process_owner
from services.common.logs import RepeatedFailures
from services.common.times import now
from services.evaluation import metrics
from services.evaluation.card_follow_store import FollowJob, FollowJobStore, LeaseLost, SqlFollowUnitOfWork
from services.evaluation.domain.card_follow import EntitlementChange, FeedPage, followable, issue_all
from services.evaluation.ports import Conflict, Unreachable

log = logging.getLogger("retailcare.evaluation")

BATCH = 200  # changes a page (and a transaction)
# How long a change after a gap in the ids waits for the missing one to commit: longer
# than any classification write transaction (a reclassification batch takes seconds).
SETTLE = datetime.timedelta(seconds=60)


class CardFollower:
    """``feed(after_change_id, limit)`` is classification's change feed (the directory's
    ``changes``); ``unit_of_work()`` a batch's transaction (SqlFollowUnitOfWork)."""

    def __init__(
        self,
        store: FollowJobStore,
        unit_of_work: Callable[[], SqlFollowUnitOfWork],
        feed: Callable[[int, int], FeedPage],
        poll_seconds: float,
        batch_size: int = BATCH,
        settle: datetime.timedelta = SETTLE,
    ):
        self.store = store
        self.unit_of_work = unit_of_work
        self.feed = feed
        self.poll_seconds = poll_seconds
        self.batch_size = batch_size
        self.settle = settle
        self.owner = process_owner()
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None

    def start(self) -> None:
        self._thread = threading.Thread(target=self._loop, name="card-follower", daemon=True)
        self._thread.start()

    def stop(self) -> None:
        """Stops after the batch in hand and gives up the lease, so another replica
        follows at its next poll."""
        self._stop.set()
        if self._thread is not None:
            self._thread.join(10)
        try:
            job = self.store.latest_of()
            if job is not None:
                self.store.release(job, self.owner, now())
        except Exception:  # the database is gone: the lease expires instead
            log.warning("card follower: could not release its lease", exc_info=True)

    def _loop(self) -> None:
        unreachable = False  # logged once, not at every poll
        failures = RepeatedFailures(log, "card follower step failed")
        while not self._stop.wait(self.poll_seconds):
            try:
                self.step()
                if unreachable:
                    log.info("card follower: classification reachable again")
                unreachable = False
                failures.succeeded()
            except Unreachable:
                metrics.FOLLOW_FAILURES.labels("unreachable").inc()
                if not unreachable:
                    log.warning("card follower: classification unreachable; trying again at each poll")
                unreachable = True
            except Conflict:  # a caller issued the same version first: read again
                metrics.FOLLOW_FAILURES.labels("conflict").inc()
            except LeaseLost:
                metrics.FOLLOW_FAILURES.labels("lease_lost").inc()
            except Exception:  # the database may be briefly unreachable; try again next time
                metrics.FOLLOW_FAILURES.labels("error").inc()
                failures.failed()

    def step(self) -> int:
        """Follows every change there is now, if this process can take the lease; the
        number of card versions issued."""
        moment = now()
        job = self.store.job(moment)
        if not self.store.take_lease(job, self.owner, moment, moment + LEASE):
            metrics.FOLLOW_LAG.set(0)  # the holder's gauge counts; not a wait this one left
            return 0
        job = self.store.get(job.id)  # its cursor as the last holder left it
        issued = 0
        while not self._stop.is_set():
            page = self.feed(job.last_change_id, self.batch_size)
            read_at = now()
            taken = followable(page.changes, job.last_change_id, read_at, self.settle)
            waiting = page.changes[len(taken) :]
            # Classification dates a change on its own clock: one running ahead is no wait.
            metrics.FOLLOW_LAG.set(
                max(0.0, (read_at - waiting[0].changed_at).total_seconds()) if waiting else 0
            )
            if not taken:
                return issued
            issued += self._handle(job, taken)
            if waiting or not page.has_more:
                return issued
            job = self.store.get(job.id)  # its cursor after the page, for the next one
        return issued

    def _handle(self, job: FollowJob, changes: list[EntitlementChange]) -> int:
        """One transaction: the versions the changes issue and the cursor after them."""
        with self.unit_of_work() as uow:
            cards = issue_all(changes, uow.commitment_cards.latest_each(c.licence_number for c in changes))
            for card in cards:
                uow.commitment_cards.add(card)
            moment = now()
            uow.cursor.advance(
                job, self.owner, changes[-1].id, len(changes), len(cards), moment, moment + LEASE
            )
        metrics.CHANGES_FOLLOWED.inc(len(changes))
        metrics.CARDS_FOLLOWED.inc(len(cards))
        metrics.COMMITMENT_CARDS.inc(len(cards))
        for card in cards:
            log.info(
                "commitment card version issued for a change",
                extra={"licence_number": card.licence_number, "version": card.version},
            )
        return len(cards)


def start_follower(runtime) -> None:
    """Starts this process's follower (every replica runs one; the lease lets one follow
    at a time), unless ``card_follow_seconds`` is 0."""
    seconds = runtime.settings.card_follow_seconds
    if seconds <= 0:
        return
    follower = CardFollower(
        FollowJobStore(runtime.engine),
        functools.partial(SqlFollowUnitOfWork, runtime.engine),
        runtime.use_cases.directory.changes,
        seconds,
    )
    follower.start()
    runtime.on_stop(follower.stop)
