"""The service's clock: every time a service writes or reads as "now"
comes from the clock it was given, and its parts share that clock."""

import pytest

from remotetask import SimpleTask, TaskService
from remotetask.core import service as core
from remotetask.core.clock import systemClock
from tests import tasks


def test_every_part_reads_the_services_clock(service, clock):
    """The clock given to the service is the one its parts read."""
    assert service.clock is clock
    parts = (service.routing, service.reads, service.writes,
             service.running, service.completions)
    assert [part.clock for part in parts] == [clock] * len(parts)


def test_a_service_given_no_clock_reads_the_systems():
    """A legacy TaskService() reads the system's time."""
    assert TaskService().clock is systemClock


def test_a_jobs_times_come_from_the_clock(service, clock, tmp_path):
    """Added, started and ended (and each event, and the progress
    report) are the clock's times, whatever the wall clock says: the end
    too, which the wall clock stamped before."""
    service.registry.register('progressing', SimpleTask(tasks.progressing))
    released = tmp_path / 'released'
    released.touch()
    jobid = service.add('progressing', {'release': str(released)})
    added = clock.seconds()
    clock.advance(10)
    row = service.running.claimNext()
    clock.advance(5)
    service.running.runClaimed(row)
    job = service.getJob(jobid)
    assert job.created.timestamp() == added
    assert job.started.timestamp() == added + 10
    assert job.completed.timestamp() == added + 15
    assert job.progress['at'].timestamp() == added + 15
    assert [event['at'].timestamp() for event in job.events] == [
        added, added + 10, added + 15]


def test_a_cron_jobs_next_call_is_read_from_the_clock(service, clock):
    """CronJob.timeOfNextCall() with no ``now`` reads the service's
    clock."""
    jobid = service.addCronJob('echo', delay=60)
    assert service.getJob(jobid).timeOfNextCall() == int(clock.seconds()
                                                         + 60)
    clock.advance(1000)
    assert service.getJob(jobid).timeOfNextCall() == int(clock.seconds()
                                                         + 60)


def test_a_failed_completion_call_is_retried_by_the_clock(service, clock):
    """The completion call of a job is due at its end, and one that
    failed is tried again after a wait counted on the clock."""
    from remotetask.core import notifying
    service.notifyAllow = (notifying.parsePrefix('http://h/'),)
    jobid = service.add('echo', 1, notify='http://h/done')
    service.process()
    row, = service.completions.claimNotifications(10, 30)
    assert row['job'] == jobid
    due = service.completions.recordNotification(row, 'refused')
    assert due > clock.seconds()
    assert service.completions.claimNotifications(10, 30) == []
    clock.advance(due - clock.seconds())
    again, = service.completions.claimNotifications(10, 30)
    assert again['attempts'] == 1


def test_the_core_service_is_given_its_store():
    """remotetask.core.service.TaskService makes no store (the core
    imports none); remotetask.TaskService makes one in memory."""
    with pytest.raises(TypeError):
        core.TaskService()
    assert issubclass(TaskService, core.TaskService)
    service = TaskService()
    service.registry.register('echo', SimpleTask(tasks.echo))
    jobid = service.add('echo', 'x')
    service.process()
    assert service.getResult(jobid) == 'x'
