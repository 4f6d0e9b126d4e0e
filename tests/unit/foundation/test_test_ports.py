"""The test servers' ports: each pytest-xdist worker draws from its own slice, so two
workers never pick the same port between picking it and binding it."""

import itertools

from tests.support.ports import worker_slice

PORTS = (10_000, 32_767)


def test_outside_xdist_the_whole_range():
    assert worker_slice(PORTS, "", "") == PORTS
    assert worker_slice(PORTS, "master", "2") == PORTS


def test_workers_get_disjoint_slices_within_the_range():
    first, second = worker_slice(PORTS, "gw0", "2"), worker_slice(PORTS, "gw1", "2")
    assert first == (10_000, 21_383)
    assert second == (21_384, 32_767)
    slices = [worker_slice(PORTS, f"gw{i}", "3") for i in range(3)]
    for (low, high), (next_low, _) in itertools.pairwise(slices):
        assert low <= high < next_low
    assert slices[0][0] >= PORTS[0] and slices[-1][1] <= PORTS[1]
