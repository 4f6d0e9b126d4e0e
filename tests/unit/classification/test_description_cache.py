"""The service menu's copy of the service descriptions: reused while young, read again
once old, and dropped at once by a change made in the same process; a change made by
another replica shows once the copy is old."""

from services.classification.service_layer import Cached, ClassificationUseCases
from tests.unit.classification.fakes import FakeRuleSets, FakeStorage


class Reads:
    def __init__(self):
        self.count = 0

    def __call__(self) -> int:
        self.count += 1
        return self.count


def test_a_copy_is_reused_until_it_is_old():
    moment = [100.0]
    cached, read = Cached(5.0, clock=lambda: moment[0]), Reads()
    assert cached.get(read) == 1
    moment[0] = 104.9
    assert cached.get(read) == 1
    moment[0] = 105.0
    assert cached.get(read) == 2
    assert read.count == 2


def test_clear_makes_the_next_read_fresh():
    cached, read = Cached(3600.0), Reads()
    assert cached.get(read) == 1
    cached.clear()
    assert cached.get(read) == 2
    assert cached.get(read) == 2


def test_a_read_overtaken_by_a_clear_is_not_kept():
    cached = Cached(3600.0)

    def read_while_cleared() -> str:
        cached.clear()  # a change lands while this read is under way
        return "old"

    assert cached.get(read_while_cleared) == "old"
    assert cached.get(lambda: "new") == "new"


def test_no_copy_with_zero_seconds():
    cached, read = Cached(0.0), Reads()
    assert [cached.get(read) for _ in range(3)] == [1, 2, 3]


def _menu_standard(use_cases: ClassificationUseCases, service: str) -> str:
    _, items = use_cases.menu("L-1")
    return next(d.standard for d, _ in items if d.service == service)


def test_a_description_change_shows_in_the_menu_of_its_replica_at_once_and_of_others_when_their_copy_is_old():
    storage, rules = FakeStorage(), FakeRuleSets()
    here = ClassificationUseCases(storage, rules, descriptions_cache_seconds=3600)
    elsewhere = ClassificationUseCases(storage, rules, descriptions_cache_seconds=3600)
    uncached = ClassificationUseCases(storage, rules, descriptions_cache_seconds=0)
    here.load_service_catalogue()
    here.create(
        {
            "licence_number": "L-1",
            "name": "Shop",
            "business_format": "grocery",
            "market_type": "urban",
            "monthly_sales_cartons": 600.0,
        }
    )
    _, items = here.menu("L-1")
    service = items[0][0].service
    before = _menu_standard(here, service)
    assert _menu_standard(elsewhere, service) == before
    edited = {**vars(items[0][0]), "standard": "New standard"}
    del edited["updated_at"]
    here.update_description(edited)
    assert _menu_standard(here, service) == "New standard"
    assert _menu_standard(uncached, service) == "New standard"
    assert _menu_standard(elsewhere, service) == before  # its copy is young
    elsewhere._descriptions.seconds = 0  # its copy is now old
    assert _menu_standard(elsewhere, service) == "New standard"
