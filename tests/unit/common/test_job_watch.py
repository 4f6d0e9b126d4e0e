"""The options of the job commands (`retailcare rules rescoring` and `rules
reclassification`, services/common/job_watch.py): an interval or a start wait that is not
a finite number of seconds is refused by the parser (exit 2, naming the option) instead of
a traceback from time.sleep, a loop that never sleeps, or a wait that never ends."""

import pytest

from services.common.cli import build_parser
from services.common.job_watch import bar
from services.composition import PACK

COMMANDS = (["rules", "rescoring"], ["rules", "reclassification", "service-entitlements"])


@pytest.mark.parametrize("command", COMMANDS, ids=lambda c: c[1])
@pytest.mark.parametrize(
    "option, value",
    [
        ("--interval", "-1"),
        ("--interval", "0"),
        ("--interval", "nan"),
        ("--interval", "inf"),
        ("--interval", "soon"),
        ("--start-within", "-1"),
        ("--start-within", "nan"),
        ("--start-within", "inf"),
    ],
)
def test_a_bad_interval_or_start_wait_is_refused_naming_the_option(command, option, value, capsys):
    with pytest.raises(SystemExit) as stopped:
        build_parser(PACK).parse_args([*command, "--watch", option, value])
    assert stopped.value.code == 2
    assert option in capsys.readouterr().err


@pytest.mark.parametrize("command", COMMANDS, ids=lambda c: c[1])
def test_good_values_are_taken(command):
    args = build_parser(PACK).parse_args([*command, "--watch", "--interval", "0.1", "--start-within", "0"])
    assert (args.interval, args.start_within) == (0.1, 0.0)


def test_the_bar_is_full_when_there_is_nothing_to_do_and_never_overflows():
    assert bar(0, 0, 4) == "[####]"
    assert bar(1, 4, 4) == "[#---]"
    assert bar(9, 4, 4) == "[####]"
