"""The cancel watch: a cancel told, or found, stops the run here."""

from remotetask.server.pipeline.cancelwatch import CancelWatch
from remotetask.server.pipeline.inflight import InFlight, Run
from tests.server.fakes import makeService, synchronous


def makeWatch(*jobids):
    service, stopped, table = makeService(), [], InFlight()
    for jobid in jobids:
        table.hold(Run(dict(id=jobid, task='echo')))
    watch = CancelWatch(service, synchronous, table,
                        lambda run: stopped.append(run.id))
    return watch, service, stopped, table


def test_a_cancel_told_stops_a_run_here_once():
    """A job here that ends cancelled is stopped, once however often
    told (its run's flag says so); other ends and jobs elsewhere are left
    alone."""
    watch, service, stopped, table = makeWatch(1, 2)
    watch.ended(1, 'completed')
    watch.ended(7, 'cancelled')
    watch.ended(2, 'cancelled')
    watch.ended(2, 'cancelled')
    assert stopped == [2]
    assert table.get(2).cancelled and not table.get(1).cancelled


def test_an_end_without_its_status_is_looked_up():
    """An end told without its status (another server's notification)
    is read, and the run stopped if it was a cancel."""
    watch, service, stopped, table = makeWatch()
    jobid = service.add('echo', 1)
    row, = service.running.claim(1)
    table.hold(Run(row))
    watch.ended(jobid, None)
    assert stopped == []
    service.cancel(jobid)
    watch.ended(jobid, None)
    assert stopped == [jobid]


def test_catch_up_finds_cancels_among_all_jobs_here_in_one_read():
    """catchUp() reads the statuses of every job here at once and stops
    the cancelled ones."""
    watch, service, stopped, table = makeWatch()
    jobs = [service.add('echo', i) for i in range(3)]
    for row in service.running.claim(3):
        table.hold(Run(row))
    service.cancel(jobs[1])
    reads = []
    watch.read = lambda f, ids: reads.append(ids) or synchronous(f, ids)
    watch.catchUp()
    assert stopped == [jobs[1]]
    assert [sorted(ids) for ids in reads] == [jobs]
