"""Fixtures shared by the test tiers."""

import pytest

from remotetask import SimpleTask, TaskService
from remotetask.store import MemoryJobStore, SQLiteJobStore
from tests import tasks

STORES = ['memory', 'sqlite']


def makeStore(kind, tmp_path):
    if kind == 'memory':
        return MemoryJobStore()
    return SQLiteJobStore(tmp_path / 'jobs.sqlite')


def registerTestTasks(service):
    for name in ('echo', 'fail', 'crash', 'unstorable', 'sleep', 'pid',
                 'record'):
        service.registry.register(name, SimpleTask(getattr(tasks, name)))
    return service


@pytest.fixture(params=STORES)
def store(request, tmp_path):
    """Each store that must keep the IJobStore contract."""
    store = makeStore(request.param, tmp_path)
    yield store
    store.close()


@pytest.fixture
def service(store):
    """A TaskService on each store, with the test tasks registered."""
    return registerTestTasks(TaskService(store=store))
