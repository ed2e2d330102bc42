"""The cancel watch: a cancel told, or found, stops the run here."""

from remotetask.server.cancelwatch import CancelWatch
from tests.server.fakes import makeService, synchronous


def makeWatch(here):
    service, stopped = makeService(), []
    watch = CancelWatch(service, synchronous, lambda: here, stopped.append)
    return watch, service, stopped


def test_a_cancel_told_stops_a_run_here_once():
    """A job here that ends cancelled is stopped, once however often
    told; other ends and jobs elsewhere are left alone."""
    here = {1, 2}
    watch, service, stopped = makeWatch(here)
    watch.ended(1, 'completed')
    watch.ended(7, 'cancelled')
    watch.ended(2, 'cancelled')
    watch.ended(2, 'cancelled')
    assert stopped == [2]
    watch.forget(2)
    watch.ended(2, 'cancelled')
    assert stopped == [2, 2]


def test_an_end_without_its_status_is_looked_up():
    """An end told without its status (another server's notification)
    is read, and the run stopped if it was a cancel."""
    watch, service, stopped = makeWatch(set())
    jobid = service.add('echo', 1)
    service.claim(1)
    watch.here = lambda: {jobid}
    watch.ended(jobid, None)
    assert stopped == []
    service.cancel(jobid)
    watch.ended(jobid, None)
    assert stopped == [jobid]


def test_catch_up_finds_cancels_among_all_jobs_here_in_one_read():
    """catchUp() reads the statuses of every job here at once and stops
    the cancelled ones."""
    watch, service, stopped = makeWatch(set())
    jobs = [service.add('echo', i) for i in range(3)]
    service.claim(3)
    service.cancel(jobs[1])
    reads = []
    watch.read = lambda f, ids: reads.append(ids) or synchronous(f, ids)
    watch.here = lambda: set(jobs)
    watch.catchUp()
    assert stopped == [jobs[1]]
    assert [sorted(ids) for ids in reads] == [jobs]
