"""classifications_total and entitlements_granted_total: each thread counts in counts of its
own, and a scrape sums every thread's."""

import threading

from prometheus_client import CollectorRegistry, generate_latest

from services.classification.domain import SERVICES
from services.classification.metrics import Classified


class _Outcome:
    def __init__(self, *services):
        self.services = {service: {} for service in services}


def _registry(classified: Classified) -> CollectorRegistry:
    registry = CollectorRegistry()
    registry.register(classified)
    return registry


def _scrape(classified: Classified) -> dict[str, float]:
    samples = {}
    for metric in _registry(classified).collect():
        for sample in metric.samples:
            samples[sample.labels.get("service", sample.name)] = sample.value
    return samples


def test_every_threads_counts_are_summed_and_every_service_is_exported_from_the_start():
    classified = Classified()
    assert _scrape(classified) == {"classifications_total": 0, **dict.fromkeys(SERVICES, 0)}

    def classify(times: int) -> None:
        for _ in range(times):
            classified.add(1, _Outcome("free_phone_ordering", "scarce_brand_supply").services)

    threads = [threading.Thread(target=classify, args=(1000,)) for _ in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    classified.add(3, ["free_phone_ordering", "free_phone_ordering", "a_new_service"])
    samples = _scrape(classified)
    assert samples["classifications_total"] == 4003
    assert samples["free_phone_ordering"] == 4002
    assert samples["scarce_brand_supply"] == 4000
    assert samples["a_new_service"] == 1  # a service a new rule-set version grants
    assert samples["customer_manager_visit"] == 0
    assert (
        'entitlements_granted_total{service="a_new_service"} 1.0'
        in generate_latest(_registry(classified)).decode()
    )
