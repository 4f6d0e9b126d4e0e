"""PerThread: each thread adds to its own counts, a reader sums every thread's, those of
threads that ended included."""

import threading

from services.common.per_thread import PerThread


class Counts:
    def __init__(self):
        self.added = 0


def test_each_thread_adds_to_its_own_and_the_reader_sees_every_one():
    counts = PerThread(Counts)
    mine_twice = []

    def add(times: int) -> None:
        first = counts.mine()
        for _ in range(times):
            counts.mine().added += 1
        mine_twice.append(first is counts.mine())

    threads = [threading.Thread(target=add, args=(n,)) for n in (1, 10, 100, 1000)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    every = counts.every()
    assert sorted(c.added for c in every) == [1, 10, 100, 1000]  # the ended threads' stay
    assert mine_twice == [True] * 4
    counts.mine().added += 5  # this thread's, made on its first ask
    assert sum(c.added for c in counts.every()) == 1116
    assert len(counts.every()) == 5 and len(every) == 4  # every() is a copy


def test_two_objects_keep_apart_counts():
    first, second = PerThread(Counts), PerThread(Counts)
    first.mine().added += 1
    assert second.mine().added == 0
    assert [c.added for c in first.every()] == [1]
