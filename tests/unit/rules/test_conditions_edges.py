"""conditions.comparisons walks a whole condition tree, `not` included (the services pass
it normalised trees, which hold no `not`; the function's contract is any tree)."""

from services.common.rules import conditions as c


def test_comparisons_are_every_leaf_of_a_tree_in_order_through_not_any_and_all():
    a, b, d = c.Compare("a", "eq", 1), c.Present("b", False), c.Compare("d", "gt", 2)
    tree = c.AllOf((c.Not(a), c.AnyOf((b, c.Not(c.Not(d))))))
    assert list(c.comparisons(tree)) == [a, b, d]
