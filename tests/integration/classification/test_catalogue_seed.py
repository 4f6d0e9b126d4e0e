"""Seeding the service catalogue: replicas starting together on an empty database both
seed it, and the one that comes second must not fail on the other's rows."""

import dataclasses
import threading

from services.classification.service_layer import ClassificationUseCases
from services.classification.storage import SqlUnitOfWork, unit_of_work_factory
from services.common.config import parse_database_url
from services.common.database import create_database_engine
from services.common.migrations import upgrade_to_head
from services.composition import service_definition


def _use_cases(engine):
    return ClassificationUseCases(unit_of_work_factory(engine), rule_sets=None)


def test_replicas_seeding_at_once_all_succeed_and_store_the_catalogue_once(db_url):
    engine = create_database_engine(parse_database_url("test", db_url))
    try:
        upgrade_to_head(service_definition("classification").migrations_dir, engine)
        # Both replicas find the catalogue empty before either has written it.
        start, failures = threading.Barrier(3), []

        def seed():
            try:
                start.wait()
                _use_cases(engine).load_service_catalogue()
            except Exception as error:  # recorded, the assertion below names it
                failures.append(error)

        threads = [threading.Thread(target=seed) for _ in range(3)]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join(30)
        assert failures == []
        with SqlUnitOfWork(engine, read_only=True) as uow:
            services = [d.service for d in uow.descriptions.all()]
        assert services and len(services) == len(set(services))
    finally:
        engine.dispose()


def test_seeding_keeps_descriptions_already_stored(db_url):
    engine = create_database_engine(parse_database_url("test", db_url))
    try:
        upgrade_to_head(service_definition("classification").migrations_dir, engine)
        use_cases = _use_cases(engine)
        use_cases.load_service_catalogue()
        with SqlUnitOfWork(engine) as uow:
            first = dataclasses.replace(uow.descriptions.all()[0], name="edited by an administrator")
            uow.descriptions.save(first)
        with SqlUnitOfWork(engine) as uow:
            uow.descriptions.seed([dataclasses.replace(first, name="from the shipped catalogue")])
        with SqlUnitOfWork(engine, read_only=True) as uow:
            assert uow.descriptions.get(first.service).name == "edited by an administrator"
    finally:
        engine.dispose()
