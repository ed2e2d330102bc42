"""The cancel watch: a cancel told, or found, stops the run here."""

from remotetask.server.pipeline.cancelwatch import CancelWatch
from remotetask.server.pipeline.inflight import InFlight, Run
from tests.server.fakes import makeService


def makeWatch(*jobids):
    service, stopped, table = makeService(), [], InFlight()
    for jobid in jobids:
        table.hold(Run(dict(id=jobid, task='echo')))
    watch = CancelWatch(table, lambda run: stopped.append(run.id))
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
