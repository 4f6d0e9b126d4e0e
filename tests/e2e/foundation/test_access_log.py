"""The access log through real calls: every call, a sampled share of the successful ones,
or failures only; a failed call is logged whatever the setting."""

from __future__ import annotations

import logging

import grpc
import pytest

from services.common.config import ConfigError
from tests.support import probe_service
from tests.support.services import channel_to, running, settings_for

SLEEP = f"/{probe_service.SERVICE}/Sleep"


def _logged(caplog, settings, successes: int) -> list[str]:
    """Codes of the access lines after `successes` good calls and two failing ones."""
    caplog.set_level(logging.INFO, logger="retailcare.calls")
    with running(probe_service.definition, settings) as service, channel_to(service) as channel:
        for _ in range(successes):
            probe_service.call(channel, "Sleep", b"0")
        for failing in ("Missing", "Invalid"):
            with pytest.raises(grpc.RpcError):
                probe_service.call(channel, failing, b"110101200002")
    return [r.code for r in caplog.records if r.name == "retailcare.calls" and r.getMessage() == "call"]


def test_all_logs_every_call(tmp_path, caplog):
    codes = _logged(caplog, settings_for(tmp_path, access_log="all"), successes=20)
    assert sorted(codes) == sorted(["OK"] * 20 + ["NOT_FOUND", "INVALID_ARGUMENT"])


def test_errors_logs_only_the_failed_calls(tmp_path, caplog):
    codes = _logged(caplog, settings_for(tmp_path, access_log="errors"), successes=20)
    assert sorted(codes) == ["INVALID_ARGUMENT", "NOT_FOUND"]


def test_sampled_logs_about_its_share_of_the_good_calls_and_every_failed_one(tmp_path, caplog):
    settings = settings_for(tmp_path, access_log="sampled", access_log_share=0.5)
    codes = _logged(caplog, settings, successes=200)
    assert {"NOT_FOUND", "INVALID_ARGUMENT"} <= set(codes)
    assert 50 <= codes.count("OK") <= 150  # 0.5 of 200, seven standard deviations either side


def test_sampled_with_no_share_logs_failures_only(tmp_path, caplog):
    settings = settings_for(tmp_path, access_log="sampled", access_log_share=0)
    codes = _logged(caplog, settings, successes=20)
    assert sorted(codes) == ["INVALID_ARGUMENT", "NOT_FOUND"]


def test_a_sampled_log_is_the_default(tmp_path):
    settings = settings_for(tmp_path)
    assert (settings.access_log, settings.access_log_share) == ("sampled", 0.01)


@pytest.mark.parametrize(
    ("values", "named"),
    [
        ({"access_log": "some"}, "access_log must be all, sampled or errors"),
        ({"access_log_share": 2}, "access_log_share"),
    ],
)
def test_a_bad_access_log_setting_stops_start_up_naming_it(tmp_path, values, named):
    with pytest.raises(ConfigError, match=named):
        settings_for(tmp_path, **values)
