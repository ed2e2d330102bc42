"""What a lovely.remotetask or z3c.taskqueue host sees of the daemon, with
the stdlib client: tuples travel as arrays, cron fields in UTC on asking."""

import datetime
import signal

from remotetask import SimpleTask, TaskService
from remotetask.store import SQLiteJobStore
from tests import tasks
from tests.acceptance.daemon import waitUntil


def test_tuples_travel_as_arrays(startDaemon, tmp_path):
    """A job whose input a Python host gave as a tuple, and a task that
    returns a tuple, are read over XML-RPC as arrays; the store keeps the
    tuples."""
    store = SQLiteJobStore(tmp_path / 'jobs.sqlite')
    service = TaskService(store=store)
    service.registry.register('echo', SimpleTask(tasks.echo))
    fromPython = service.add('echo', (0.04, 1))
    store.close()
    daemon = startDaemon('--workers=1', '--task=pair=tests.tasks:pair')
    server = daemon.proxy()
    assert server.wait(fromPython, 30) == 'completed'
    assert server.getJob(fromPython)['input'] == [0.04, 1]
    assert server.getResult(fromPython) == [0.04, 1]
    swapped = server.add('pair', ['a', 'b'])
    assert server.wait(swapped, 30) == 'completed'
    assert server.getResult(swapped) == ['b', 'a']
    daemon.kill(signal.SIGTERM)  # it holds the store while it runs
    store = SQLiteJobStore(tmp_path / 'jobs.sqlite')
    try:
        assert TaskService(store=store).getResult(swapped) == ('b', 'a')
    finally:
        store.close()


def nextRun(server, jobid):
    """A cron job's next run, once the dispatcher has scheduled it."""
    waitUntil(lambda: server.getJob(jobid).get('nextRun') is not None,
              message='the cron job scheduled')
    return datetime.datetime.fromisoformat(server.getJob(jobid)['nextRun'])


def test_timezone_UTC_reads_cron_fields_as_the_originals(startDaemon,
                                                         tmp_path):
    """On a server whose local zone is Asia/Kolkata, hour 3 minute 0 means
    03:00 there (21:30 UTC); with --timezone UTC it means 03:00 UTC, as
    the originals read it."""
    schedule = {'hour': [3], 'minute': [0]}
    for name in ('local', 'utc'):
        tmp_path.joinpath(name).mkdir()
    local = startDaemon('--workers=1', directory=tmp_path.joinpath('local'),
                        env={'TZ': 'Asia/Kolkata'}).proxy()
    utc = startDaemon('--workers=1', '--timezone=UTC',
                      directory=tmp_path.joinpath('utc'),
                      env={'TZ': 'Asia/Kolkata'}).proxy()
    localRun = nextRun(local, local.addCronJob('echo', None, schedule))
    utcRun = nextRun(utc, utc.addCronJob('echo', None, schedule))
    assert (localRun.hour, localRun.minute) == (21, 30)
    assert (utcRun.hour, utcRun.minute) == (3, 0)
    assert localRun.utcoffset() == utcRun.utcoffset() == datetime.timedelta(0)
