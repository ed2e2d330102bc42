"""Removing old finished jobs in the daemon's retention service."""

import time

import pytest
from twisted.internet import defer, task

from remotetask.server.retention import DAY, RetentionService, parseAge, parseKeep


def test_parse_ages_and_keep():
    """Ages take s/m/h/d/w suffixes or 'forever'; keep names statuses."""
    assert [parseAge(t) for t in ('30', '45s', '15m', '12h', '7d', '2w')] \
        == [30, 45, 900, 43200, 7 * DAY, 14 * DAY]
    assert parseAge('forever') is None
    assert parseKeep('completed=1h,error=forever') == {
        'completed': 3600, 'error': None, 'cancelled': 30 * DAY}
    for bad in ('queued=1d', 'completed', 'completed=soon'):
        with pytest.raises(ValueError):
            parseKeep(bad)


def finished(service, status, age):
    """A job in ``status`` that ended ``age`` seconds ago."""
    jobid = service.add('echo', 1)
    row, = service.store.claim(time.time(), 1, f't{jobid}',
                               lambda row, now: now, time.time())
    service.store.finish(jobid, row['token'], status, None, None, None,
                         time.time() - age)
    return jobid


@pytest.mark.parametrize('batch', [1, 500])
def test_purge_removes_what_is_older_than_kept(service, batch):
    """One round removes finished jobs past their status's age, in
    batches of any size, and leaves the rest."""
    old = [finished(service, 'completed', 2 * DAY) for _ in range(3)]
    young = finished(service, 'completed', 60)
    failed = finished(service, 'error', 2 * DAY)
    waiting = service.add('echo', startLater=True)
    retention = RetentionService(
        service.store, lambda f, *a: defer.maybeDeferred(f, *a),
        keep={'completed': DAY, 'error': None, 'cancelled': DAY},
        batch=batch, clock=task.Clock())
    retention.running = True
    removed = retention.purge()
    assert removed.result == 3
    assert sorted(service.jobs) == [young, failed, waiting]
    assert not set(old) & set(service.jobs)
