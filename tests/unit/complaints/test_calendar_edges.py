"""The working calendar at its edges (services/complaints/calendar.py): Saturdays and
Sundays in a year's data, changes of single days, the accepted years, administrators'
year data, guessed days anywhere in a span, and the calendar book's refusals."""

import datetime

import pytest

from services.complaints.calendar import (
    ADMIN,
    CHINA,
    LIBRARY,
    CalendarBook,
    CalendarChange,
    CalendarRefused,
    CalendarYear,
    UnknownChange,
    WorkingCalendar,
    end_of_day,
    parse_day,
    parse_year,
    year_problems,
    year_window,
)

D = datetime.date
MOMENT = datetime.datetime(2027, 1, 5, 8, 0, tzinfo=datetime.UTC)
# 2027: Friday 1 January off, Saturday 9 January a make-up working day (made up for the test).
YEAR = CalendarYear(2027, LIBRARY, frozenset({D(2027, 1, 1)}), frozenset({D(2027, 1, 9)}))


def _change(day, working, at=MOMENT, change_id=0):
    return CalendarChange(change_id, day, working, "why", "admin", at)


def test_a_years_data_decides_each_kind_of_day():
    assert YEAR.is_working(D(2027, 1, 4))  # a Monday
    assert not YEAR.is_working(D(2027, 1, 1))  # a holiday
    assert YEAR.is_working(D(2027, 1, 9))  # a make-up Saturday
    assert not YEAR.is_working(D(2027, 1, 16))  # another Saturday
    assert not YEAR.is_working(D(2027, 1, 17))  # a Sunday


def test_changes_are_laid_over_a_year_of_their_own_only():
    changed = YEAR.with_changes(
        [
            _change(D(2026, 12, 28), False),  # another year's change comes first: skipped, not the end
            _change(D(2027, 1, 1), True),  # the holiday works after all
            _change(D(2027, 1, 5), False),  # a Tuesday off
            _change(D(2027, 1, 16), True),  # a Saturday works
            _change(D(2027, 1, 9), False),  # the make-up Saturday is cancelled
        ]
    )
    assert (changed.year, changed.source) == (2027, LIBRARY)
    assert changed.holidays == {D(2027, 1, 5)}
    assert changed.make_up_workdays == {D(2027, 1, 16)}
    assert changed.is_working(D(2027, 1, 16)) and not changed.is_working(D(2027, 1, 9))
    assert YEAR.with_changes([]) == YEAR


def test_a_saturday_change_goes_to_the_make_up_days():
    changed = YEAR.with_changes([_change(D(2027, 1, 23), True)])  # a Saturday
    assert (changed.holidays, changed.make_up_workdays) == (
        YEAR.holidays,
        YEAR.make_up_workdays | {D(2027, 1, 23)},
    )


def test_a_removed_change_is_no_longer_active():
    change = _change(D(2027, 1, 5), False)
    assert change.active
    removed = CalendarChange(1, change.day, False, "why", "admin", MOMENT, MOMENT, "boss")
    assert not removed.active


@pytest.mark.parametrize(
    ("year", "ok"), [(1999, False), (2000, True), (2026, True), (2100, True), (2101, False)]
)
def test_accepted_years(year, ok):
    assert year_problems(year) == ([] if ok else [("year", "must be between 2000 and 2100")])


@pytest.mark.parametrize(
    ("text", "day"),
    [
        ("2027-01-05", D(2027, 1, 5)),
        ("20270105", None),  # the basic form is not accepted
        ("2027-02-30", None),
        ("2027-1-5", None),
        ("", None),
        ("2027-01-05T00", None),
    ],
)
def test_parse_day(text, day):
    assert parse_day(text) == day


def test_parse_year_takes_an_administrators_whole_year():
    problems, data = parse_year(2027, ["2027-01-01", "2027-01-04"], ["2027-01-09"])
    assert problems == []
    assert data == CalendarYear(
        2027, ADMIN, frozenset({D(2027, 1, 1), D(2027, 1, 4)}), frozenset({D(2027, 1, 9)})
    )


def test_parse_year_names_every_problem():
    long_value = "x" * 30
    problems, data = parse_year(
        1999,
        [long_value, "2028-01-03", "2027-01-09", "2027-01-04"],
        ["2027-01-04", "2027-01-16"],
    )
    assert problems == [
        ("year", "must be between 2000 and 2100"),
        ("holidays", f"{'x' * 20!r} is not a date YYYY-MM-DD"),
        ("holidays", "2028-01-03 is not in 1999"),
        ("holidays", "2027-01-09 is not in 1999"),
        ("holidays", "2027-01-04 is not in 1999"),
        ("make_up_workdays", "2027-01-04 is not in 1999"),
        ("make_up_workdays", "2027-01-16 is not in 1999"),
    ]
    problems, data = parse_year(2027, ["2027-01-09"], ["2027-01-04"])
    assert problems == [
        ("holidays", "2027-01-09 is a weekend day"),
        ("make_up_workdays", "2027-01-04 is a weekday"),
    ]
    assert (data.holidays, data.make_up_workdays) == (frozenset(), frozenset())


def test_end_of_day_and_year_window_are_in_utc():
    assert end_of_day(D(2027, 1, 5)) == datetime.datetime(2027, 1, 5, 16, 0, tzinfo=datetime.UTC)
    assert end_of_day(D(2027, 1, 5)).tzinfo is datetime.UTC
    assert year_window(2027) == (
        datetime.datetime(2026, 12, 31, 16, 0, tzinfo=datetime.UTC),
        datetime.datetime(2027, 12, 31, 16, 0, tzinfo=datetime.UTC),
    )


def test_a_guessed_day_anywhere_in_a_span_makes_it_estimated():
    calendar = WorkingCalendar([YEAR])  # 2026 unknown, 2027 known
    day, estimated = calendar.add_working_days(D(2026, 12, 30), 3)  # 31 Dec guessed, then 4 and 5 Jan
    assert (day, estimated) == (D(2027, 1, 5), True)
    assert calendar.working_days_between(D(2026, 12, 30), D(2027, 1, 5)) == (3, True)
    assert calendar.add_working_days(D(2027, 1, 1), 2) == (D(2027, 1, 5), False)


def test_extend_counts_from_the_day_the_deadline_falls_in():
    calendar = WorkingCalendar([YEAR])
    just_after_midnight = datetime.datetime(2027, 1, 6, 0, 0, 1, tzinfo=CHINA)  # still 6 January
    assert calendar.extend(just_after_midnight, 1).due_at == end_of_day(D(2027, 1, 7))
    assert calendar.extend(end_of_day(D(2027, 1, 6)), 1).due_at == end_of_day(D(2027, 1, 7))


def test_refusals_carry_their_subject():
    assert CalendarRefused("no").subject == ""
    assert (CalendarRefused("no", "2027").subject, str(CalendarRefused("no", "2027"))) == ("2027", "no")
    unknown = UnknownChange(7)
    assert (unknown.change_id, str(unknown)) == (7, "no calendar change 7")


def test_a_book_refuses_to_replace_a_library_year_unless_asked():
    book = CalendarBook(years={2027: YEAR})
    admin_year = CalendarYear(2027, ADMIN, frozenset({D(2027, 1, 4)}))
    with pytest.raises(CalendarRefused) as refused:
        book.set_year(admin_year, replace_known_year=False)
    assert refused.value.subject == "2027"
    assert str(refused.value) == (
        "2027 is an official year from the calendar library: change single days"
        " (ChangeCalendarDays), or replace the whole year with replace_known_year"
    )
    book.set_year(admin_year, replace_known_year=True)
    assert book.years[2027] == admin_year
    again = CalendarYear(2027, ADMIN, frozenset({D(2027, 1, 5)}))
    book.set_year(again, replace_known_year=False)  # an administrator's year may be set again
    assert book.years[2027] == again


def test_a_book_changes_single_days_and_refuses_what_does_not_fit():
    book = CalendarBook(years={2027: YEAR})
    first = book.change_day(D(2027, 1, 5), False, "storm", "admin", MOMENT)
    assert first == CalendarChange(0, D(2027, 1, 5), False, "storm", "admin", MOMENT)
    book.stored(CalendarChange(1, D(2027, 1, 5), False, "storm", "admin", MOMENT))
    second = book.change_day(D(2027, 1, 6), False, "storm", "admin", MOMENT)  # another day: fine
    assert second.day == D(2027, 1, 6) and not second.working
    book.stored(CalendarChange(2, D(2027, 1, 6), False, "storm", "admin", MOMENT))
    assert not book.working_calendar().is_workday(D(2027, 1, 5))[0]
    for day, working, subject, message in [
        (D(2028, 1, 3), False, "2028-01-03", "no data for 2028 yet: set the year first"),
        (D(2027, 1, 5), True, "2027-01-05", "2027-01-05 already has change 1: remove it first"),
        (D(2027, 1, 4), True, "2027-01-04", "2027-01-04 is a working day already"),
        (D(2027, 1, 10), False, "2027-01-10", "2027-01-10 is a day off already"),
    ]:
        with pytest.raises(CalendarRefused) as refused:
            book.change_day(day, working, "r", "a", MOMENT)
        assert (refused.value.subject, str(refused.value)) == (subject, message)


def test_a_removed_change_frees_its_day_and_keeps_its_record():
    book = CalendarBook(years={2027: YEAR})
    book.change_day(D(2027, 1, 5), False, "storm", "admin", MOMENT)
    book.stored(CalendarChange(1, D(2027, 1, 5), False, "storm", "admin", MOMENT))
    later = MOMENT + datetime.timedelta(hours=1)
    removed = book.remove_change(1, "boss", later)
    assert (removed.removed_at, removed.removed_by, removed.active) == (later, "boss", False)
    with pytest.raises(CalendarRefused) as twice:
        book.remove_change(1, "boss", later)
    assert (twice.value.subject, str(twice.value)) == ("1", "calendar change 1 was removed already")
    with pytest.raises(UnknownChange) as unknown:
        book.remove_change(99, "boss", later)
    assert unknown.value.change_id == 99
    again = book.change_day(D(2027, 1, 5), False, "storm again", "admin", later)  # the day is free again
    book.stored(CalendarChange(2, again.day, False, again.reason, "admin", later))
    assert [(c.id, c.active) for c in book.changes] == [(1, False), (2, True)]
    assert not book.effective(2027).is_working(D(2027, 1, 5))


def test_changes_of_a_year_are_listed_oldest_first():
    early, late = MOMENT, MOMENT + datetime.timedelta(days=1)
    book = CalendarBook(
        years={2027: YEAR},
        changes=[
            _change(D(2027, 1, 6), False, late, 3),
            _change(D(2026, 12, 28), False, early, 1),
            _change(D(2027, 1, 5), False, late, 2),
            _change(D(2027, 1, 4), False, early, 4),
        ],
    )
    assert [c.id for c in book.changes_of(2027)] == [4, 2, 3]
    assert book.effective(2026) is None
