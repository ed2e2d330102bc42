"""Listing jobs page by page through the service, on every store."""

from remotetask import QUEUED, STARTLATER


def addJobs(service):
    """Five echo jobs waiting to be started, one fail job queued; ids."""
    echoes = [service.add('echo', i, startLater=True) for i in range(5)]
    return echoes, service.add('fail')


def test_newestJobs_pages_newest_first(service):
    """newestJobs answers Jobs newest first, and a cursor that gives the
    next older page; None after the oldest."""
    echoes, failing = addJobs(service)
    jobs, cursor = service.newestJobs(limit=4)
    assert [job.id for job in jobs] == [failing] + echoes[:1:-1]
    assert jobs[0].task == 'fail' and jobs[1].input == 4
    jobs, cursor = service.newestJobs(before=cursor, limit=4)
    assert [job.id for job in jobs] == [echoes[1], echoes[0]]
    assert cursor is None


def test_newestJobs_filters_by_status_and_task(service):
    """status and task filter the newest-first pages, alone or both."""
    echoes, failing = addJobs(service)
    jobs, _ = service.newestJobs(status=STARTLATER, limit=10)
    assert [job.id for job in jobs] == echoes[::-1]
    jobs, _ = service.newestJobs(task='fail', limit=10)
    assert [job.id for job in jobs] == [failing]
    jobs, _ = service.newestJobs(status=QUEUED, task='echo', limit=10)
    assert jobs == []


def test_findJobs_pages_oldest_first(service):
    """findJobs answers Jobs oldest first after a cursor; a page that is
    not full has no cursor."""
    echoes, failing = addJobs(service)
    jobs, cursor = service.findJobs(task='echo', limit=3)
    assert [job.id for job in jobs] == echoes[:3]
    jobs, cursor = service.findJobs(task='echo', after=cursor, limit=3)
    assert [job.id for job in jobs] == echoes[3:]
    assert cursor is None


def test_a_job_removed_between_listing_and_reading_is_left_out(service):
    """A job cleaned after the store listed it is not in the page, and
    the page does not fail."""
    echoes, failing = addJobs(service)
    original = service.reads.getJob

    def getJob(jobid):
        if jobid == echoes[2]:
            service.store.clean({STARTLATER})
        return original(jobid)
    service.reads.getJob = getJob
    jobs, _ = service.newestJobs(task='echo', limit=10)
    assert [job.id for job in jobs] == [echoes[4], echoes[3]]
