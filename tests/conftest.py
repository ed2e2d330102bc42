"""Fixtures shared by the test tiers."""

import pytest

from remotetask import SimpleTask, TaskService
from remotetask.store import SQLiteJobStore, openStore
from tests import tasks
from tests.postgresql.conftest import (  # noqa: F401  (fixtures)
    postgresqlDsn, postgresqlServer)

STORES = ['memory', 'sqlite', 'postgresql']


def makeStore(kind, request, tmp_path):
    if kind == 'memory':
        return openStore('memory:')
    if kind == 'postgresql':
        from remotetask.store.postgresql import PostgreSQLJobStore
        return PostgreSQLJobStore(request.getfixturevalue('postgresqlDsn'))
    return SQLiteJobStore(tmp_path / 'jobs.sqlite')


def registerTestTasks(service):
    for name in ('echo', 'fail', 'crash', 'unstorable', 'sleep', 'pid',
                 'record'):
        service.registry.register(name, SimpleTask(getattr(tasks, name)))
    return service


@pytest.fixture(params=STORES)
def store(request, tmp_path):
    """Each store, so that the service behaves the same on all of them
    (PostgreSQL is skipped, saying why, where no server is reachable)."""
    store = makeStore(request.param, request, tmp_path)
    yield store
    store.close()


@pytest.fixture
def service(store):
    """A TaskService on each store, with the test tasks registered."""
    return registerTestTasks(TaskService(store=store))
