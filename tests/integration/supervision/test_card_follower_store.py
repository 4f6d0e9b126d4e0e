"""The card follower over evaluation's real tables (migrated) on SQLite and PostgreSQL, fed
by a list of changes: versions and cursor stored together and once; a gap waits until it
settles; a replica that lost its lease, or a batch that meets a version a caller issued
meanwhile, stores nothing and the next poll gets it right; an orderly stop releases the
lease; a step reads on only while a page says changes were left after it."""

import datetime
import functools

import pytest
from prometheus_client import REGISTRY

from services.common.config import parse_database_url
from services.common.database import create_database_engine
from services.common.migrations import upgrade_to_head
from services.composition import service_definition
from services.evaluation.card_follow_store import FollowJobStore, LeaseLost, SqlFollowUnitOfWork
from services.evaluation.card_follower import CardFollower
from services.evaluation.domain.card_follow import EntitlementChange, FeedPage
from services.evaluation.domain.supervision import CommitmentCard, CommitmentItem
from services.evaluation.ports import Conflict
from services.evaluation.storage import SqlUnitOfWork

T0 = datetime.datetime(2026, 3, 10, 9, 0, tzinfo=datetime.UTC)


def _card(licence="L1", visits=2, version=0, issued_at=None):
    item = CommitmentItem("visit", "Visit", "standard", ("call",), "monthly", "we come", {"visits": visits})
    return CommitmentCard(licence, (item,), 1, "cm-1", "team-1", version, issued_at)


def _change(change_id, minutes, **card):
    return EntitlementChange.of(change_id, T0 + datetime.timedelta(minutes=minutes), _card(**card))


class Feed:
    """Classification's feed over a list; ``on_read`` runs at each read (a race)."""

    def __init__(self, changes):
        self.changes = changes
        self.on_read = None

    def __call__(self, after: int, limit: int) -> FeedPage:
        if self.on_read is not None:
            self.on_read()
        left = [c for c in sorted(self.changes, key=lambda c: c.id) if c.id > after]
        return FeedPage(left[:limit], has_more=len(left) > limit)


@pytest.fixture
def engine(db_url, clock):
    clock.set(T0 + datetime.timedelta(hours=1))
    engine = create_database_engine(parse_database_url("test", db_url))
    upgrade_to_head(service_definition("evaluation").migrations_dir, engine)
    with SqlUnitOfWork(engine) as uow:  # L1 holds version 1; L2 holds no card
        uow.commitment_cards.add(_card(version=1, issued_at=T0 - datetime.timedelta(days=1)))
    yield engine
    engine.dispose()


def _lag() -> float:
    return REGISTRY.get_sample_value("evaluation_card_follow_lag_seconds")


def _follower(engine, feed, batch_size=200):
    return CardFollower(
        FollowJobStore(engine), functools.partial(SqlFollowUnitOfWork, engine), feed, 1.0, batch_size
    )


def _cards(engine, licence="L1"):
    with SqlUnitOfWork(engine) as uow:
        versions, card = [], uow.commitment_cards.latest(licence)
        while card is not None:
            versions.append((card.version, card.issued_at, card.items[0].parameters["visits"]))
            before = card.issued_at - datetime.timedelta(microseconds=1)
            card = uow.commitment_cards.latest(licence, before)
        return versions[::-1]


def test_the_latest_card_of_each_customer_of_a_batch_is_read_at_once(engine):
    with SqlUnitOfWork(engine) as uow:
        for version in (2, 3):
            uow.commitment_cards.add(
                _card(visits=version, version=version, issued_at=T0 + datetime.timedelta(hours=version))
            )
        uow.commitment_cards.add(_card(licence="L3", visits=9, version=1, issued_at=T0))
    with SqlUnitOfWork(engine) as uow:
        latest = uow.commitment_cards.latest_each(["L1", "L2", "L3", "L1"])
        assert uow.commitment_cards.latest_each([]) == {}
        each = {licence: uow.commitment_cards.latest(licence) for licence in ("L1", "L3")}
    assert sorted(latest) == ["L1", "L3"]  # L2 holds no card
    assert latest == each
    assert (latest["L1"].version, latest["L1"].items[0].parameters) == (3, {"visits": 3})


def test_versions_and_the_cursor_are_stored_together_and_once(engine):
    feed = Feed([_change(1, 1, visits=3), _change(2, 2, licence="L2", visits=3), _change(3, 3, visits=2)])
    follower = _follower(engine, feed, batch_size=2)  # two pages
    assert follower.step() == 2
    assert _cards(engine) == [
        (1, T0 - datetime.timedelta(days=1), 2),
        (2, T0 + datetime.timedelta(minutes=1), 3),
        (3, T0 + datetime.timedelta(minutes=3), 2),
    ]
    assert _cards(engine, "L2") == []
    job = FollowJobStore(engine).latest_of()
    assert (job.last_change_id, job.changes, job.issued) == (3, 3, 2)
    assert follower.step() == 0  # nothing new: nothing handled again
    assert FollowJobStore(engine).latest_of().changes == 3


def test_a_gap_in_the_ids_waits_until_the_change_after_it_settles(engine, clock):
    clock.set(T0 + datetime.timedelta(minutes=2, seconds=30))
    feed = Feed([_change(1, 1, visits=3), _change(3, 2, visits=4)])
    follower = _follower(engine, feed)
    assert follower.step() == 1
    assert FollowJobStore(engine).latest_of().last_change_id == 1
    assert _lag() == 30  # change 3 waits for 2
    feed.changes.append(_change(2, 1.5, visits=5))  # the slower write commits
    assert follower.step() == 2
    assert [visits for _, _, visits in _cards(engine)] == [2, 3, 5, 4]
    assert _lag() == 0

    feed.changes.append(_change(5, 3, visits=6))  # 4 never comes: after a minute 5 goes on
    assert follower.step() == 0
    clock.set(T0 + datetime.timedelta(minutes=4, seconds=1))
    assert follower.step() == 1
    assert FollowJobStore(engine).latest_of().last_change_id == 5


def test_a_change_dated_ahead_of_the_followers_clock_is_no_lag(engine, clock):
    """Classification's clock runs ahead: the change after a gap is dated after the
    follower's now, and the lag it shows is none, not a negative wait."""
    clock.set(T0 + datetime.timedelta(minutes=1, seconds=30))
    follower = _follower(engine, Feed([_change(1, 1, visits=3), _change(3, 2, visits=4)]))
    assert follower.step() == 1
    assert _lag() == 0


def test_only_the_lease_holder_follows_and_a_lost_lease_stores_nothing(engine, clock):
    feed = Feed([_change(1, 1, visits=3)])
    first, second = _follower(engine, feed), _follower(engine, feed)

    def taken_over():  # first's lease expires while it reads; second takes it
        feed.on_read = None
        clock.set(T0 + datetime.timedelta(hours=2))
        job = FollowJobStore(engine).latest_of()
        assert second.store.take_lease(
            job, second.owner, clock.now(), clock.now() + datetime.timedelta(seconds=30)
        )

    feed.on_read = taken_over
    with pytest.raises(LeaseLost):
        first.step()
    assert len(_cards(engine)) == 1 and FollowJobStore(engine).latest_of().last_change_id == 0
    assert first.step() == 0  # second holds the lease now
    assert second.step() == 1
    assert FollowJobStore(engine).latest_of().last_change_id == 1

    second.stop()  # an orderly stop gives the lease up: first follows at once
    assert FollowJobStore(engine).latest_of().lease_owner == ""
    feed.changes.append(_change(2, 2, visits=4))
    assert first.step() == 1


def test_a_version_a_caller_issued_meanwhile_is_a_conflict_and_the_next_poll_skips_the_change(engine, db_url):
    """GetCommitmentCard issues version 2 from the live menu (after the change) between the
    follower's read of the last card and its commit: the batch is not stored."""
    caller = create_database_engine(parse_database_url("test", db_url))
    printed = []

    class PrintedMeanwhile(SqlFollowUnitOfWork):
        def __enter__(self):
            uow = super().__enter__()
            read = uow.commitment_cards.latest_each

            def latest_each(licences):
                cards = read(licences)
                if not printed:
                    with SqlUnitOfWork(caller) as other:
                        later = T0 + datetime.timedelta(minutes=5)
                        other.commitment_cards.add(_card(visits=3, version=2, issued_at=later))
                    printed.append(True)
                return cards

            uow.commitment_cards.latest_each = latest_each
            return uow

    follower = CardFollower(
        FollowJobStore(engine),
        functools.partial(PrintedMeanwhile, engine),
        Feed([_change(1, 1, visits=3)]),
        1.0,
    )
    try:
        with pytest.raises(Conflict):
            follower.step()
        assert FollowJobStore(engine).latest_of().last_change_id == 0
        assert follower.step() == 0  # the printed card already shows the change
        assert [(version, visits) for version, _, visits in _cards(engine)] == [(1, 2), (2, 3)]
        assert FollowJobStore(engine).latest_of().last_change_id == 1
    finally:
        caller.dispose()


def test_a_page_cut_short_by_its_size_is_followed_by_the_next_in_the_same_step(engine):
    """The feed cuts a page short when its menus are large: fewer changes than asked for
    does not mean none is left."""
    feed = Feed([_change(1, 1, visits=3), _change(2, 2, visits=4), _change(3, 3, visits=5)])

    def one_a_page(after, limit):
        page = feed(after, limit)
        return FeedPage(page.changes[:1], has_more=len(page.changes) > 1 or page.has_more)

    follower = _follower(engine, one_a_page)
    assert follower.step() == 3
    assert FollowJobStore(engine).latest_of().last_change_id == 3


def test_a_page_with_nothing_left_after_it_ends_the_step(engine):
    """Changes written after such a page was read wait for the next poll: under a steady
    stream of classifications the follower does not chase the feed a few changes a call."""
    feed = Feed([_change(1, 1, visits=3)])
    reads = []

    def a_change_arrives_after_each_of_two_reads(after, limit):
        page = feed(after, limit)
        reads.append(after)
        if len(reads) <= 2:
            feed.changes.append(_change(len(reads) + 1, len(reads) + 1, visits=3 + len(reads)))
        return page

    follower = _follower(engine, a_change_arrives_after_each_of_two_reads)
    assert follower.step() == 1
    assert reads == [0] and FollowJobStore(engine).latest_of().last_change_id == 1
    assert follower.step() == 1  # the next poll takes the one that came since
    assert reads == [0, 1] and FollowJobStore(engine).latest_of().last_change_id == 2


def test_a_replica_without_the_lease_shows_no_lag(engine, clock):
    """The lag gauge is the lease holder's: a replica that lost the lease while it waited at
    a gap no longer shows that wait (max() across replicas would keep it for ever)."""
    clock.set(T0 + datetime.timedelta(minutes=2, seconds=30))
    first = _follower(engine, Feed([_change(1, 1, visits=3), _change(3, 2, visits=4)]))
    assert first.step() == 1 and _lag() == 30
    clock.set(T0 + datetime.timedelta(hours=2))  # its lease has expired; another takes it
    job = FollowJobStore(engine).latest_of()
    assert FollowJobStore(engine).take_lease(
        job, "other-replica", clock.now(), clock.now() + datetime.timedelta(seconds=30)
    )
    assert first.step() == 0
    assert _lag() == 0
