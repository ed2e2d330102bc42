"""Routing on a shared store: two services with different tasks on one
PostgreSQL database, each announcing its tasks as a daemon does."""

import time

import pytest

from remotetask import NoSuchTask, SimpleTask, TaskService
from remotetask.store.postgresql import PostgreSQLJobStore
from tests import tasks


@pytest.fixture
def servers(postgresqlDsn):
    """Services 'a' (task alpha) and 'b' (task beta) on one database;
    neither has announced its tasks yet."""
    made = []
    for name, task in (('a', 'alpha'), ('b', 'beta')):
        service = TaskService(store=PostgreSQLJobStore(
            postgresqlDsn, serverId=name, heartbeatTimeout=30.0))
        service.registry.register(task, SimpleTask(tasks.echo,
                                                   description=task.title()))
        made.append(service)
    yield made
    for service in made:
        service.store.close()


def announce(service, at):
    service.store.announce({name: name.title() for name in
                            service.getAvailableTasks()}, [], at)


def test_an_add_is_accepted_for_a_task_a_live_server_serves(servers):
    """A accepts a job of B's task while B's heartbeat is recent, lists
    B's task among the cluster's, never claims it, and B runs it; once
    B's heartbeat is older than the timeout, A refuses that task again,
    and the job already queued waits for a server."""
    a, b = servers
    announce(a, time.time())
    with pytest.raises(NoSuchTask, match="'beta'.*available: alpha"):
        a.add('beta', 1)
    announce(b, time.time())
    assert a.describeTasks() == {'alpha': 'Alpha', 'beta': 'Beta'}
    assert a.taskServers() == {'alpha': ['a'], 'beta': ['b']}
    first = a.add('beta', 1)
    second = a.addEach([('beta', 2), ('gamma', 3)])
    assert isinstance(second[1], NoSuchTask)
    assert a.claim(10) == []
    b.process()
    assert b.getResult(first) == 1
    assert a.getJob(first).server == 'b'
    announce(b, time.time() - 60)
    with pytest.raises(NoSuchTask):
        a.add('beta', 3)
    assert a.getStatus(second[0]) == 'completed'
    waiting = b.add('beta', 4)
    assert a.claim(10) == []
    assert a.getStatus(waiting) == 'queued'
