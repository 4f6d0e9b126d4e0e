"""Rule metrics, labelled by rule set (and rule id, version): bounded, analyst-named values."""

from prometheus_client import Counter, Gauge, Histogram

DECISIONS = Counter(
    "rules_decisions_total",
    "Decisions made, by rule set, version and outcome.",
    ["rule_set", "version", "outcome"],
)
DECISION_SECONDS = Histogram(
    "rules_decision_seconds",
    "Time to decide one set of facts.",
    ["rule_set"],
    buckets=(0.00005, 0.0001, 0.00025, 0.0005, 0.001, 0.0025, 0.005, 0.01, 0.05, 0.1),
)
FIRED = Counter("rules_fired_total", "Rules whose actions were applied.", ["rule_set", "rule"])
ACTIVE_VERSION = Gauge("rules_active_version", "Version each rule set is deciding with.", ["rule_set"])
RELOADS = Counter(
    "rules_reloads_total", "Loads of a newly activated version, by result.", ["rule_set", "result"]
)
