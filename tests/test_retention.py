"""Removing old finished jobs in the daemon's retention service."""

import time

import pytest
from twisted.internet import defer, task

from remotetask.server.cluster.retention import DAY, RetentionService, parseAge, parseKeep


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


def test_purge_keeps_the_chart_counters_of_the_last_KEEP_MINUTES(service):
    """A round removes the per-minute counters older than KEEP_MINUTES
    and keeps those within it (a minute either side of the cut, so that
    the clock moving on during the test cannot change the outcome)."""
    import time
    from remotetask.server.cluster.retention import KEEP_MINUTES
    now = int(time.time() // 60)
    cut = now - KEEP_MINUTES // 60
    for minute in (cut - 1, cut + 1, now):
        service.store.countRuns(minute, 's', 1, 0)
    retention = RetentionService(
        service.store, lambda f, *a: defer.maybeDeferred(f, *a),
        clock=task.Clock())
    retention.running = True
    retention.purge()
    assert [row['minute'] for row in service.reads.minutes(0)] == [
        cut + 1, now]
