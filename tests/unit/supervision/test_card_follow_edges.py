"""The card follower's choice of changes at its edges: changes the cursor has passed may
come before the new ones (a feed read from an older cursor) and never stop them."""

from services.evaluation.domain.card_follow import followable
from tests.unit.supervision.test_card_follow import SETTLE, T0, _change


def test_changes_up_to_the_cursor_are_skipped_and_the_next_ones_still_taken():
    changes = [_change(6), _change(9), _change(7), _change(8)]
    assert [c.id for c in followable(changes, 7, T0, SETTLE)] == [8, 9]
    assert [c.id for c in followable([_change(3), _change(3), _change(4)], 2, T0, SETTLE)] == [3, 4]
