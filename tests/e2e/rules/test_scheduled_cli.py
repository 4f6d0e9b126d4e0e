"""`retailcare rules publish --at`, `rules scheduled` and `rules cancel` against a running service."""

import datetime

from services.common.config import load_settings
from services.composition import PACK, main, service_definition
from tests.support.ports import pack_environment
from tests.support.rule_samples import default_source
from tests.support.services import running

GRADING = "customer-grading"


def test_schedule_list_and_cancel_from_the_command_line(tmp_path, capsys, monkeypatch):
    for key, value in pack_environment(str(tmp_path)).items():
        monkeypatch.setenv(key, value)
    monkeypatch.setenv("RETAILCARE_DRAIN_SECONDS", "0")
    edited = tmp_path / "grading.yaml"
    edited.write_text(default_source(GRADING) + "\n# from next week\n")
    at = (datetime.datetime.now(datetime.UTC) + datetime.timedelta(days=7)).replace(microsecond=0)
    local = at.astimezone(datetime.timezone(datetime.timedelta(hours=8)))
    with running(service_definition("classification"), load_settings(PACK)):
        assert (
            main(["rules", "publish", str(edited), "--comment", "next week", "--at", local.isoformat()]) == 0
        )
        out = capsys.readouterr().out
        assert f"version 2 (to become active at {at.isoformat(timespec='seconds')})" in out

        assert main(["rules", "scheduled"]) == 1  # complaints and evaluation are not running
        listed = capsys.readouterr()
        rows = [line.split() for line in listed.out.splitlines()[1:]]
        assert [row[:3] for row in rows] == [[GRADING, "2", at.isoformat(timespec="seconds")]]
        assert listed.err.startswith("retailcare: cannot reach complaints at ")

        assert main(["rules", "cancel", GRADING, "2", "--author", "li"]) == 0
        assert "version 2 will not become active" in capsys.readouterr().out
        assert main(["rules", "scheduled"]) == 1
        assert "no activation is scheduled" in capsys.readouterr().out

        assert main(["rules", "cancel", GRADING, "2"]) != 0
        err = capsys.readouterr().err
        assert err.count("\n") == 1 and "FAILED_PRECONDITION" in err and "already cancelled" in err

        naive = tmp_path / "naive.yaml"
        naive.write_text(default_source(GRADING) + "\n# naive\n")
        assert main(["rules", "publish", str(naive), "--comment", "x", "--at", "2027-03-01T09:00"]) != 0
        assert "needs its UTC offset" in capsys.readouterr().err
        past = (at - datetime.timedelta(days=30)).isoformat()
        assert main(["rules", "publish", str(naive), "--comment", "x", "--at", past]) != 0
        err = capsys.readouterr().err
        assert "INVALID_ARGUMENT" in err and "activate_at" in err
