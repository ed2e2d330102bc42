"""Routing on a shared store: two services with different tasks on one
PostgreSQL database, each announcing its tasks as a daemon does."""

import pytest
from twisted.internet import defer
from twisted.internet.task import Clock

from remotetask import NoSuchTask, SimpleTask, TaskService
from remotetask.store.postgresql import PostgreSQLJobStore
from remotetask.wire.xmlrpc import TASKS_WAIT, describeTasks
from tests import tasks


@pytest.fixture
def servers(postgresqlDsn, clock):
    """Services 'a' (task alpha) and 'b' (task beta) on one database,
    reading the time from ``clock``; neither has announced its tasks
    yet."""
    made = []
    for name, task in (('a', 'alpha'), ('b', 'beta')):
        service = TaskService(store=PostgreSQLJobStore(
            postgresqlDsn, serverId=name, heartbeatTimeout=30.0),
            clock=clock)
        service.registry.register(task, SimpleTask(tasks.echo,
                                                   description=task.title()))
        made.append(service)
    yield made
    for service in made:
        service.store.close()


def announce(service, ago=0):
    """Record ``service``'s tasks, as heartbeating ``ago`` seconds before
    its clock's now."""
    at = service.clock.seconds() - ago
    service.store.announce({name: name.title() for name in
                            service.getAvailableTasks()}, [], at)


def test_an_add_is_accepted_for_a_task_a_live_server_serves(servers):
    """A accepts a job of B's task while B's heartbeat is recent, lists
    B's task among the cluster's, never claims it, and B runs it; once
    B's heartbeat is older than the timeout, A refuses that task again,
    and the job already queued waits for a server."""
    a, b = servers
    announce(a)
    with pytest.raises(NoSuchTask, match="'beta'.*available: alpha"):
        a.add('beta', 1)
    announce(b)
    assert a.routing.describeTasks() == {'alpha': 'Alpha', 'beta': 'Beta'}
    assert a.routing.taskServers() == {'alpha': ['a'], 'beta': ['b']}
    first = a.add('beta', 1)
    second = a.addEach([('beta', 2), ('gamma', 3)])
    assert isinstance(second[1], NoSuchTask)
    assert a.running.claim(10) == []
    b.process()
    assert b.getResult(first) == 1
    assert a.getJob(first).server == 'b'
    announce(b, 60)
    with pytest.raises(NoSuchTask):
        a.add('beta', 3)
    assert a.getStatus(second[0]) == 'completed'
    waiting = b.add('beta', 4)
    assert a.running.claim(10) == []
    assert a.getStatus(waiting) == 'queued'


def test_a_listing_of_tasks_answers_while_the_store_does_not(servers):
    """getAvailableTasks on a shared store reads the servers alive; if
    the store thread has not answered within TASKS_WAIT (a database that
    hangs), the listing answers with the other servers' tasks as last
    read, and a store that answers in time gives the fresh ones."""
    a, b = servers
    announce(a)
    announce(b)
    clock = Clock()

    def stuck(function):
        return defer.Deferred()  # a store thread that never answers
    waiting = describeTasks(a.routing, stuck, clock)
    assert not waiting.called
    clock.advance(TASKS_WAIT)
    assert waiting.result == {'alpha': 'Alpha'}  # nothing read yet
    assert a.routing.describeTasks() == {'alpha': 'Alpha', 'beta': 'Beta'}
    waiting = describeTasks(a.routing, stuck, clock)
    clock.advance(TASKS_WAIT)
    assert waiting.result == {'alpha': 'Alpha', 'beta': 'Beta'}
    answered = describeTasks(
        a.routing, lambda function: defer.maybeDeferred(function), clock)
    assert answered.result == {'alpha': 'Alpha', 'beta': 'Beta'}
    assert clock.getDelayedCalls() == []
