"""The process pool's side of its workers, on task.Clock with in-memory
pipes: what it sends, what it does with what they say, and how it keeps
its workers alive."""

from remotetask import SimpleTask
from remotetask.core.registry import TaskRegistry
from remotetask.server.pipeline.inflight import Run
from remotetask.server.workers.processpool import STOPPED, ProcessWorkerPool
from tests import tasks
from tests.server.fakes import ProcessReactor


class Handler:
    """Records what the pool tells the dispatcher."""

    def __init__(self):
        self.news = []
        self.freed = 0

    def jobStarted(self, run):
        self.news.append(('started', run.id))

    def jobEnded(self, run, outcome, seconds, report=None):
        self.news.append(('ended', run.id, outcome.ok,
                          outcome.output or outcome.error, seconds))
        if report is not None:
            self.news.append(('last report', run.id, report))

    def jobReturned(self, run):
        self.news.append(('returned', run.id))

    def workerFree(self):
        self.freed += 1


def row(jobid, task=None):
    """A run of the in-flight table, of ``task`` (echo by default)."""
    return Run(dict(id=jobid, task='echo', input='1', token='t'),
               task or ECHO)


ECHO = SimpleTask(tasks.echo)


def makePool(size=2, depth=1, recallAfter=0.1):
    reactor, handler = ProcessReactor(), Handler()
    pool = ProcessWorkerPool(TaskRegistry(), size, handler, reactor,
                             recallAfter=recallAfter)
    pool.depth = depth
    pool.startService()
    return pool, reactor, handler


def test_a_job_goes_to_the_idle_worker_and_its_news_comes_back():
    """submit() sends the job and its input as stored to a worker with
    room; its start and end reach the handler, the end with the output
    as the worker sent it and the time it ran."""
    pool, reactor, handler = makePool()
    assert (pool.live, pool.capacity()) == (2, 2)
    pool.submit([row(1)])
    process = next(p for p in reactor.processes if p.written)
    assert process.messages() == [({'run': 1, 'task': 'echo'}, '1')]
    assert pool.capacity() == 1
    process.reply({'started': 1})
    reactor.advance(0.25)
    process.reply({'ended': 1, 'ok': True}, '{"x":1}')
    assert handler.news == [('started', 1),
                            ('ended', 1, True, '{"x":1}', 0.25)]
    assert pool.capacity() == 2


def test_a_worker_given_no_job_is_sent_nothing():
    """A submit writes only to the workers it gives jobs to: the others
    are not woken by an empty message."""
    pool, reactor, handler = makePool(size=2, depth=2)
    pool.submit([row(1)])
    assert sorted(len(process.frames()) for process in reactor.processes) \
        == [0, 1]


def test_jobs_queued_behind_a_long_one_are_recalled():
    """With depth 2 a worker takes a job ahead; when the running one
    passes recallAfter, the queued one is recalled, comes back as
    returned, and that worker takes nothing ahead while it stays long."""
    pool, reactor, handler = makePool(size=1, depth=2)
    pool.submit([row(1)])
    process, = reactor.processes
    process.reply({'started': 1})
    pool.submit([row(2)])
    process.messages()
    reactor.advance(0.1)
    assert process.messages() == [({'recall': 2}, None)]
    assert pool.capacity() == 0
    process.reply({'recalled': 2})
    assert handler.news[-1] == ('returned', 2)
    assert pool.capacity() == 0, 'nothing ahead of a job running long'
    process.reply({'ended': 1, 'ok': True}, '1')
    assert pool.capacity() == 2


def test_a_job_ahead_that_started_before_the_recall_runs_on():
    """A recall that crosses the worker starting the job changes
    nothing: the job's start and end are taken as they come."""
    pool, reactor, handler = makePool(size=1, depth=2)
    pool.submit([row(1)])
    pool.submit([row(2)])
    process, = reactor.processes
    process.reply({'started': 1})
    reactor.advance(0.1)
    process.reply({'ended': 1, 'ok': True}, '1')
    process.reply({'started': 2})
    process.reply({'ended': 2, 'ok': True}, '2')
    assert [news[:2] for news in handler.news] == [
        ('started', 1), ('ended', 1), ('started', 2), ('ended', 2)]


def test_a_worker_that_dies_fails_its_job_returns_the_rest_and_is_replaced():
    """A worker dying mid-job ends that job in error, retryable, saying
    which signal killed it in words; the jobs queued behind it come back
    unstarted; a new worker starts."""
    pool, reactor, handler = makePool(size=1, depth=3)
    for jobid in (1, 2, 3):
        pool.submit([row(jobid)])
    process, = reactor.processes
    process.reply({'started': 1})
    process.exit()
    ended = handler.news[1]
    assert ended[:3] == ('ended', 1, False)
    assert ended[3] == ('The worker process running the job died (killed '
                        'by signal 9, SIGKILL).')
    assert handler.news[2:] == [('returned', 2), ('returned', 3)]
    assert (len(reactor.processes), pool.live) == (2, 1)


def test_a_job_over_its_timeout_has_its_worker_killed():
    """A task's timeout counts from the job's start; past it the worker
    is killed and the job ends in error saying so, not retried."""
    pool, reactor, handler = makePool(size=1)
    pool.submit([row(1, SimpleTask(tasks.slow, timeout=2))])
    process, = reactor.processes
    reactor.advance(5)
    assert process.signals == []
    process.reply({'started': 1})
    reactor.advance(2)
    assert process.signals == ['KILL']
    assert 'timed out after 2 s' in handler.news[-1][3]


def test_workers_refused_by_the_system_are_started_later():
    """When spawning fails (too many open files), the pool runs with
    fewer live workers and tries again, waiting longer each time, until
    it has them all."""
    reactor, handler = ProcessReactor(), Handler()
    reactor.refuse = 3
    pool = ProcessWorkerPool(TaskRegistry(), 2, handler, reactor,
                             respawnDelays=(0.1, 30.0))
    pool.startService()
    assert pool.live == 0
    reactor.advance(0.1)
    assert pool.live == 0
    reactor.advance(0.2)
    assert pool.live == 0
    reactor.advance(0.4)
    assert pool.live == 2
    assert reactor.getDelayedCalls() == []


def test_kill_stops_every_worker_and_their_jobs_end_stopped():
    """kill() (past the grace period) ends each running job with STOPPED,
    which the dispatcher puts back instead of recording."""
    pool, reactor, handler = makePool(size=2)
    pool.submit([row(1)])
    pool.submit([row(2)])
    for process in reactor.processes:
        jobid = process.messages()[0][0]['run']
        process.reply({'started': jobid})
    pool.kill()
    assert sorted(news[3] for news in handler.news if news[0] == 'ended') \
        == [STOPPED, STOPPED]


def test_stopping_closes_idle_workers_without_respawning():
    """stopService() closes the pipes of idle workers (they exit), and
    no worker is started again."""
    pool, reactor, handler = makePool(size=2)
    stopped = pool.stopService()
    assert stopped.called
    assert all(process.stdinClosed for process in reactor.processes)
    assert (pool.live, len(reactor.processes)) == (0, 2)


def test_a_submit_just_after_a_job_turned_long_still_finds_a_worker():
    """If the only worker's job passes recallAfter between the capacity
    check and the submit, the job still goes to a live worker."""
    pool, reactor, handler = makePool(size=1, depth=2)
    pool.submit([row(1)])
    process, = reactor.processes
    process.reply({'started': 1})
    assert pool.capacity() == 1
    reactor.advance(0.1)
    assert pool.capacity() == 0
    pool.submit([row(2)])
    assert [header for header, _ in process.messages()][-1] == {
        'run': 2, 'task': 'echo'}


def test_jobs_go_down_and_news_comes_up_several_to_a_message():
    """One submit sends each worker its jobs in one message; a message
    carrying several ends is told to the handler run by run, with the
    time each run took as its worker measured it, and frees room once."""
    pool, reactor, handler = makePool(size=2, depth=3)
    pool.submit([row(jobid) for jobid in (1, 2, 3, 4)])
    frames = [process.frames() for process in reactor.processes]
    assert [[[header['run'] for header, _ in found] for found in sent]
            for sent in frames] == [[[1, 3]], [[2, 4]]]
    process = reactor.processes[0]
    freed = handler.freed
    process.replyAll(({'started': 1}, None),
                     ({'ended': 1, 'ok': True, 'took': 0.002}, '"a"'),
                     ({'started': 3}, None),
                     ({'ended': 3, 'ok': True, 'took': 0.001}, '"b"'))
    assert handler.news == [('started', 1), ('ended', 1, True, '"a"', 0.002),
                            ('started', 3), ('ended', 3, True, '"b"', 0.001)]
    assert handler.freed == freed + 1
    assert pool.capacity() == 6 - 2


def test_an_end_that_carries_the_next_start_is_told_end_first():
    """A busy worker says a job's end and the next job's start in one
    header: the handler hears the end, then the start, so that the
    next job is the one running (a worker dying now ends it in error,
    its attempt counted, and gives back only what waits behind it)."""
    pool, reactor, handler = makePool(size=1, depth=3)
    pool.submit([row(1), row(2), row(3)])
    process, = reactor.processes
    process.reply({'started': 1})
    process.reply({'ended': 1, 'ok': True, 'took': 0.002, 'started': 2},
                  '"a"')
    assert handler.news == [('started', 1), ('ended', 1, True, '"a"', 0.002),
                            ('started', 2)]
    assert pool.workers[0].running.id == 2
    process.exit()
    assert [news[:3] for news in handler.news[3:]] == [
        ('ended', 2, False), ('returned', 3)]


class ProgressHandler(Handler):
    def jobProgress(self, run, report):
        self.news.append(('progress', run.id, report['fraction'],
                          report.get('message')))


def test_progress_messages_reach_the_handler_the_last_one_with_the_end():
    """A worker's progress message reaches the handler as a report; one
    carried by the end message reaches it with the end, as it came; one
    for a job no longer here is dropped."""
    reactor, handler = ProcessReactor(), ProgressHandler()
    pool = ProcessWorkerPool(TaskRegistry(), 1, handler, reactor)
    pool.startService()
    pool.submit([row(1)])
    process, = reactor.processes
    process.reply({'started': 1})
    process.reply({'progress': 1, 'fraction': 0.5, 'message': 'half',
                   'at': 1.0})
    process.reply({'ended': 1, 'ok': True,
                   'progress': {'fraction': 1.0, 'at': 2.0}}, '1')
    process.reply({'progress': 1, 'fraction': 0.7, 'at': 3.0})
    assert handler.news == [('started', 1), ('progress', 1, 0.5, 'half'),
                            ('ended', 1, True, '1', 0.0),
                            ('last report', 1, {'fraction': 1.0, 'at': 2.0})]


def test_the_recall_watch_follows_the_job_running_now():
    """The recall timer is one per worker, left armed across jobs: a job
    ending before recallAfter with another started at once recalls
    nothing at the first job's mark, but recalls what waits once the
    second has run recallAfter; fast jobs keep at most one timer."""
    pool, reactor, handler = makePool(size=1, depth=3)
    pool.submit([row(1), row(2), row(3)])
    process, = reactor.processes
    process.messages()
    process.reply({'started': 1})
    reactor.advance(0.05)
    process.replyAll(({'ended': 1, 'ok': True}, '1'), ({'started': 2}, None))
    assert len(reactor.getDelayedCalls()) == 1
    reactor.advance(0.05)
    assert process.messages() == [], 'job 2 has run 0.05 s only'
    assert pool.capacity() == 1
    reactor.advance(0.05)
    assert process.messages() == [({'recall': 3}, None)]
    assert pool.capacity() == 0


def test_fast_jobs_keep_one_recall_timer_that_lapses_when_idle():
    """Many jobs started and ended within recallAfter keep a single
    timer, armed about once per recallAfter rather than once per job;
    once the worker is idle it fires, recalls nothing, and is not armed
    again."""
    pool, reactor, handler = makePool(size=1, depth=2)
    armed = []
    callLater = reactor.callLater
    reactor.callLater = lambda *args: armed.append(args) or callLater(*args)
    pool.submit([row(1), row(2)])
    process, = reactor.processes
    process.reply({'started': 1})
    for jobid in range(2, 12):
        reactor.advance(0.01)
        pool.submit([row(jobid + 1)])
        process.replyAll(({'ended': jobid - 1, 'ok': True}, '1'),
                         ({'started': jobid}, None))
        assert len(reactor.getDelayedCalls()) == 1
    process.replyAll(({'ended': 11, 'ok': True}, '1'),
                     ({'started': 12}, None))
    process.reply({'ended': 12, 'ok': True}, '1')
    reactor.advance(1)
    assert not any(header.get('recall') for header, _ in process.messages())
    assert reactor.getDelayedCalls() == []
    assert len(armed) <= 2, 'eleven jobs in 0.11 s'
    assert [news[1] for news in handler.news if news[0] == 'ended'] == \
        list(range(1, 13))


def test_a_submit_beyond_the_room_left_still_sends_every_run():
    """A submit of more runs than the workers have room for now (a job
    turned long since the caller looked) sends the rest to live workers,
    the least loaded first: no run is dropped."""
    pool, reactor, handler = makePool(size=2, depth=2)
    pool.submit([row(1), row(2)])
    first, second = reactor.processes
    first.reply({'started': first.messages()[0][0]['run']})
    second.reply({'started': second.messages()[0][0]['run']})
    reactor.advance(0.1)
    assert pool.capacity() == 0
    pool.submit([row(3), row(4), row(5)])
    sent = sorted(header['run'] for process in reactor.processes
                  for header, _ in process.messages() if 'run' in header)
    assert sent == [3, 4, 5]
    assert sorted(len(worker.runs) for worker in pool.workers) == [2, 3]


def test_a_submit_evens_out_the_workers_loads_within_their_room():
    """A submit gives each run to the worker with room that holds the
    fewest jobs, counting those it gave in this submit (the first of
    equals), and a worker whose room runs out gets no more."""
    pool, reactor, handler = makePool(size=2, depth=2)
    pool.submit([row(1)])
    pool.submit([row(jobid) for jobid in (2, 3, 4, 5)])
    assert [[[header['run'] for header, _ in found]
             for found in process.frames()]
            for process in reactor.processes] == [[[1], [3, 5]], [[2, 4]]]
    assert pool.capacity() == 0
