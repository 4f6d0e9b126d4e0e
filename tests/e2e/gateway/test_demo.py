"""`retailcare demo` against a running pack: it loads, records, files, evaluates and
prints readable tables, and can run again."""

import io

from gateway.demo import CUSTOMERS, run_demo


def test_the_demo_walks_through_the_pack_and_runs_again(pack):
    for _ in range(2):
        out = io.StringIO()
        assert run_demo(pack.settings, out) == 0
        text = out.getvalue()
        assert all(licence in text for licence, *_ in CUSTOMERS)
        assert "Service menu (commitments published to the customer)" in text
        visits = text[text.index("Recent visits") : text.index("Open complaints")]
        assert "was skipped" in visits
        results = text[text.index("results") :]
        assert "team-demo" in results and "demo-manager" in results
    assert "demo" not in pack.settings.gateway_token_path().read_text()  # its token is revoked
