"""Cron and delayed jobs through the TaskService, on every store.

Times are driven through ``process(now)``; the zone is Europe/Berlin, so
``now = 0`` is 1970-01-01 01:00:00 local time.
"""

from zoneinfo import ZoneInfo

import pytest

from remotetask import InvalidArgument, TaskService
from tests.conftest import registerTestTasks

BERLIN = ZoneInfo('Europe/Berlin')


@pytest.fixture
def service(store):
    """A service on each store whose cron schedules read Berlin time."""
    return registerTestTasks(TaskService(store=store, timezone=BERLIN))


def runs(path):
    try:
        return open(path).read().split()
    except FileNotFoundError:
        return []


def test_first_due_time_comes_from_the_first_process(service, tmp_path):
    """minute=(10, 13): process(0) schedules it; it runs at 600 once,
    not again at 660, and again at 780 (the original's example)."""
    path = str(tmp_path / 'log')
    jobid = service.addCronJob('record', {'path': path, 'line': 'x'},
                               minute=(10, 13))
    assert service.getStatus(jobid) == 'cronjob'
    service.process(0)
    assert runs(path) == []
    service.process(600)
    assert runs(path) == ['x']
    service.process(660)
    assert runs(path) == ['x']
    service.process(780)
    assert runs(path) == ['x', 'x']
    assert service.getStatus(jobid) == 'cronjob'
    assert service.getResult(jobid) == 'x'
    assert service.jobs[jobid].attempts == 2


def test_missed_runs_coalesce(service, tmp_path):
    """A process() call after many due times runs the job once."""
    path = str(tmp_path / 'log')
    service.addCronJob('record', {'path': path, 'line': 'x'}, minute=(0,))
    service.process(0)
    service.process(10 * 3600)
    assert runs(path) == ['x']
    job = service.jobs[1]
    assert job.timeOfNextCall(10 * 3600) == 11 * 3600
    assert job.scheduledFor is not None


def test_cron_job_keeps_last_run_error(service):
    """A failing cron run leaves its error; the job stays scheduled."""
    jobid = service.addCronJob('fail', minute=(1,))
    service.process(0)
    service.process(3600)
    assert service.getStatus(jobid) == 'cronjob'
    assert service.getError(jobid) == 'An error occurred.'


def test_delayed_job_runs_once_after_its_delay(service):
    """delay=N: runs N seconds after it is first seen, then completes."""
    jobid = service.addCronJob('echo', 'late', delay=30)
    assert service.getStatus(jobid) == 'delayed'
    service.process(100)
    service.process(129)
    assert service.getStatus(jobid) == 'delayed'
    service.process(130)
    assert service.getStatus(jobid) == 'completed'
    assert service.getResult(jobid) == 'late'


def test_hour_schedule_in_berlin(service, tmp_path):
    """hour=(2, 13): from 01:00 the next run is 02:00 local, then 13:00."""
    jobid = service.addCronJob('echo', hour=(2, 13))
    job = service.jobs[jobid]
    assert job.timeOfNextCall(0) == 3600
    assert job.timeOfNextCall(2 * 3600) == 12 * 3600


def test_crontab_string(service):
    """A standard crontab string schedules like cron (second 0)."""
    jobid = service.addCronJob('echo', crontab='*/5 * * * 1-5')
    job = service.jobs[jobid]
    assert job.crontab == '*/5 * * * 1-5'
    # 1970-01-01 was a Thursday; 01:00:17 -> 01:05:00.
    assert job.timeOfNextCall(17) == 300


@pytest.mark.parametrize('fields', [
    dict(minute=(60,)), dict(hour=(24,)), dict(dayOfMonth=(0,)),
    dict(month=(13,)), dict(dayOfWeek=(7,)),
    dict(dayOfMonth=(30,), month=(2,)), dict(crontab='61 * * * *'),
    dict(delay=-1), dict(delay=5, minute=(1,))])
def test_impossible_schedules_are_refused(service, fields):
    """Out-of-range fields, 30 February, bad crontab text, a negative
    delay, or a delay with fields: ValueError when added."""
    with pytest.raises(ValueError) as info:
        service.addCronJob('echo', **fields)
    assert isinstance(info.value, InvalidArgument)
    assert len(service.jobs) == 0


def test_reschedule_after_update(service, tmp_path):
    """Changing a cron job's fields and calling reschedule() moves its
    next run, as with z3c.taskqueue."""
    path = str(tmp_path / 'log')
    jobid = service.addCronJob('record', {'path': path, 'line': 'x'},
                               minute=(10,))
    service.process(0)
    service.jobs[jobid].update(minute=(20,))
    service.reschedule(jobid)
    service.process(300)
    service.process(600)
    assert runs(path) == []
    service.process(1200)
    assert runs(path) == ['x']
    assert service.jobs[jobid].minute == (20,)


def test_misfire_once_runs_one_run_for_missed_due_times(service, tmp_path):
    """Due times that passed while nothing ran (the server was down) are
    counted as missed; by default the job then runs once."""
    path = str(tmp_path / 'log')
    jobid = service.addCronJob('record', {'path': path, 'line': 'x'},
                               minute=(0,))
    service.process(0)                     # due at 3600
    assert service.running.handleMisfires(now=5 * 3600 + 120) == 1
    job = service.jobs[jobid]
    assert (job.missed, job.due) == (4, 5 * 3600)
    service.process(5 * 3600 + 120)
    assert runs(path) == ['x']
    assert service.running.handleMisfires(now=5 * 3600 + 180) == 0


def test_misfire_skip_waits_for_the_next_due_time(service, tmp_path):
    """With misfire='skip' the missed due times do not run at all; the
    job waits for its next due time."""
    path = str(tmp_path / 'log')
    jobid = service.addCronJob('record', {'path': path, 'line': 'x'},
                               minute=(0,), misfire='skip')
    service.process(0)
    assert service.running.handleMisfires(now=5 * 3600 + 120) == 1
    service.process(5 * 3600 + 120)
    assert runs(path) == []
    job = service.jobs[jobid]
    assert (job.missed, job.due) == (5, 6 * 3600)
    service.process(6 * 3600)
    assert runs(path) == ['x']


def test_recent_due_times_are_not_misfires(service):
    """A due time within the grace period is left to run normally."""
    jobid = service.addCronJob('echo', minute=(0,), misfire='skip')
    service.process(0)
    assert service.running.handleMisfires(now=3600 + 30) == 0
    assert service.jobs[jobid].missed == 0


def test_unknown_misfire_policy_is_refused(service):
    """misfire is 'once' or 'skip'."""
    with pytest.raises(InvalidArgument, match='misfire'):
        service.addCronJob('echo', minute=(0,), misfire='sometimes')


# Reading the fields in UTC, as the originals did

KOLKATA_AT_0 = 'Asia/Kolkata'   # 1970-01-01 05:30 local at epoch 0


def firstDue(service, **fields):
    """The first due time of a new cron job, as seen by process(0)."""
    jobid = service.addCronJob('echo', None, **fields)
    service.process(0)
    return service.jobs[jobid].due


def test_the_default_zone_is_the_local_one(store, monkeypatch):
    """With no zone given, the fields are read in the process's zone: in
    Asia/Kolkata, hour=(2,) first seen at 05:30 IST runs at 02:30 IST
    (the minute is now's) on 2 January, which is 21:00 UTC."""
    monkeypatch.setenv('TZ', KOLKATA_AT_0)
    service = registerTestTasks(TaskService(store=store))
    assert service.timezone is None
    assert firstDue(service, hour=(2,)) == 21 * 3600


def test_a_service_can_read_cron_fields_in_UTC(store, monkeypatch):
    """TaskService(timezone='UTC') reads hour=(2,) as 02:00 UTC whatever
    the local zone, as lovely.remotetask and z3c.taskqueue did."""
    monkeypatch.setenv('TZ', KOLKATA_AT_0)
    service = registerTestTasks(TaskService(store=store, timezone='UTC'))
    assert service.timezone.utcoffset(None).total_seconds() == 0
    assert firstDue(service, hour=(2,)) == 2 * 3600
    assert firstDue(service, minute=(10,), dayOfMonth=(12,)) == \
        11 * 86400 + 600


def test_a_legacy_host_sets_UTC_once_on_the_class(store, monkeypatch):
    """TaskService.timezone = 'UTC' applies to every service given no
    zone of its own (a Zope host creates its services without
    arguments); a service's own zone still wins."""
    monkeypatch.setenv('TZ', KOLKATA_AT_0)
    monkeypatch.setattr(TaskService, 'timezone', 'UTC')
    legacy = registerTestTasks(TaskService(store=store))
    assert firstDue(legacy, hour=(2,)) == 2 * 3600
    assert legacy.jobs[1].timeOfNextCall(0) == 2 * 3600
    berlin = TaskService(timezone=BERLIN)
    assert berlin.timezone is BERLIN


def test_an_unknown_zone_name_is_refused():
    """A zone name that names no zone is refused when the service is
    made, saying which."""
    with pytest.raises(InvalidArgument, match="'Mars/Olympus'"):
        TaskService(timezone='Mars/Olympus')
