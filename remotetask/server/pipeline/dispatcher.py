"""The job pipeline's middle: from the store to the workers and back.

::

    wire --add--> TaskService --write--> store --committed--> Feeder
    --claim--> in-flight table --submit--> pool (workers)
    --started/progress/ended--> Recorder --write--> store --onEnds-->
    Waiters, CancelWatch, JobLog (and the Notifier, for jobs that owe a
    completion call)

The dispatcher composes those parts (``table``, ``feeder``,
``recorder``, ``waiters``, ``cancelWatch``, ``jobLog``) and is the pool's
``handler``. Between its claim and its recorded end a job is one ``Run``
of the in-flight table (``inflight.py``), which every part reads. The
dispatcher drives them with a ``LoopingCall`` once a second (due cron and
delayed jobs, cron misfires once a minute, the queue's depth sampled for
the chart once a minute, and on a shared store the catching up of ends
whose notifications may have been missed), puts back jobs left running by
an earlier run at start, and on stop gives back what it holds: claimed
jobs not started, then, after the grace period, jobs still running.
Every store call goes through ``read`` or ``write`` (off the reactor
thread); the service's events reach the reactor through ``relay``.
"""

import time

from twisted.application.service import Service
from twisted.internet import defer, task
from twisted.logger import Logger

from remotetask.core.status import CANCELLED, FINISHED
from remotetask.errors import NoSuchTask, StoreUnavailable
from remotetask.server.pipeline.cancelwatch import (
    CANCELLED_WHILE_RUNNING, CancelWatch)
from remotetask.server.pipeline.catchup import CatchUp
from remotetask.server.pipeline.feeder import Feeder
from remotetask.server.pipeline.inflight import ENDED, STOPPED, InFlight, Run
from remotetask.server.pipeline.joblog import JobLog
from remotetask.server.pipeline.recorder import Recorder
from remotetask.server.pipeline.relay import ThreadRelay
from remotetask.server.pipeline.waiters import Waiters

#: Seconds a stop waits, after the workers were killed, for their ends.
REAP = 5


class Dispatcher(Service):
    """See the module docstring."""

    name = 'dispatcher'
    log = Logger()

    #: ``onJobEnded(task, seconds, ok)``, called in the reactor thread when
    #: a run's end is recorded (the metrics' durations and failures).
    onJobEnded = None

    #: ``onNotifyOwed()``, called in the reactor thread when an end that
    #: owes a completion call was committed here (the notifier's wake-up).
    onNotifyOwed = None

    def __init__(self, service, pool, read, write, relay=None, clock=None,
                 interval=1.0, grace=30.0, shared=False, pollInterval=10.0,
                 maxWaiters=10000, misfireInterval=60.0, logJobs='all',
                 sampleInterval=60.0, progressInterval=1.0):
        if clock is None:
            from twisted.internet import reactor as clock
        self.service = service
        self.pool = pool
        self.clock = clock
        self.interval = interval
        self.grace = grace
        self.shared = shared
        self.pollInterval = pollInterval
        self.misfireInterval = misfireInterval
        self.sampleInterval = sampleInterval
        self.write = write
        #: The jobs in flight here, from their claim to their recorded end.
        self.table = InFlight()
        self.jobLog = JobLog(logJobs, clock)
        self._limited = False
        self._drained = None
        self._deadlines = ()  # while draining: the kill and the give-up
        self._loop = self._loopDone = None
        self._lastMisfires = self._lastPoll = self._lastSample = None
        pool.handler = self
        self.feeder = Feeder(service, pool, self.table, write, self._admit,
                             self._giveBackClaimed, clock)
        self.recorder = Recorder(service, write, self._recorded, clock,
                                 progressInterval=progressInterval)
        self.waiters = Waiters(service, read, clock, maxWaiters)
        self.cancelWatch = CancelWatch(self.table, self._stopRun)
        self._catchUp = CatchUp(service, read,
                                [self.waiters, self.cancelWatch])
        relay = relay or ThreadRelay(clock)
        if not shared:
            # On a shared store every change that makes a job claimable,
            # this server's too, is announced by the store's notification
            # (the cluster's wake-up): that is the feeder's one wake-up
            # there; here, the service's committed event is.
            service.listeners.onAdd(lambda: relay(self.added))
            # And, for a claim that joins the change's own transaction
            # (the writer's beforeCommit), while it is being made.
            service.listeners.onAddPending(self.feeder.changePending)
        service.listeners.onEnds(lambda ends: relay(self.endedMany, ends))

    # What the service and other servers tell

    def added(self):
        """A committed change may have made a job claimable."""
        self.feeder.wake()

    def ended(self, jobid, status):
        """``jobid`` ended (``status`` None: not told which way, or
        ``jobid`` None: ends may have gone unheard). Here or on another
        server, an end may leave room under a task's concurrency limit for
        a job held back: with limited tasks, that is a change that may
        make a job claimable (without, an end makes no job claimable, and
        idle servers need not claim at every end)."""
        self.endedMany([(jobid, status)])

    def endedMany(self, ends):
        """The jobs ``ends`` (``[(jobid, status)]``) ended, each as
        ``ended`` says, with one wake-up of the feeder for them all (the
        service tells a write's ends together)."""
        if self._limited:
            self.feeder.wake()
        for jobid, status in ends:
            if jobid is None:
                self.catchUp()
                continue
            self.waiters.ended(jobid, status)
            self.cancelWatch.ended(jobid, status)
            if status is None and jobid in self.table:
                # Ended, not saying how: a cancel stops the run here.
                self._catchUp([jobid])
            if status == CANCELLED:
                self._notifyOwed()

    def _notifyOwed(self):
        if self.onNotifyOwed is not None:
            self.onNotifyOwed()

    def catchUp(self):
        """Look for ends that went unheard (a shared store's
        notifications dropped for a while)."""
        self._lastPoll = self.clock.seconds()
        return self._catchUp()

    # Runs coming in and going out

    def _admit(self, rows):
        """A claim's rows: held in the table for the feeder to hand out
        (each task looked up once per claim, which holds hundreds of
        jobs of a few tasks)."""
        tasks = {}
        for row in rows:
            run = Run(row)
            try:
                run.task = tasks.get(row['task'])
                if run.task is None:
                    run.task = tasks[row['task']] = \
                        self.service.registry.lookup(row['task'])
            except NoSuchTask:
                # Claims take only the tasks of the registry, so this is a
                # task that left it since: the job waits for a server that
                # has it, as any job whose task no server serves.
                self.log.error('Job {id} of task {task}, which this server '
                               'no longer has, goes back to the queue',
                               id=row['id'], task=row['task'])
                self.table.add(run)
                self.recorder.putBack(run, started=False)
                continue
            self.table.hold(run)

    def _giveBackClaimed(self, row):
        """A row claimed after stopping began."""
        run = Run(row)
        self.table.add(run)
        self.recorder.putBack(run, started=False)

    def _stopRun(self, run):
        """Stop the run of a job cancelled while it was here (the cancel
        cleared its claim: nothing is written for it)."""
        if run.id in self.table.waiting:
            self._forget(run)
        elif run.out:
            self.pool.stopJob(run, CANCELLED_WHILE_RUNNING)

    # The pool's handler

    def workerFree(self):
        self.feeder.feed()

    def jobStarted(self, run):
        # The row is what finishRun decides retries from: count the
        # attempt here as the store will; the pool stamped the start.
        run.row['attempts'] += 1
        run.row['started'] = run.startedAt
        self.recorder.started(run)
        if run.cancelled:
            # Cancelled while it waited in a worker, and started before
            # the recall reached it.
            self.pool.stopJob(run, CANCELLED_WHILE_RUNNING)

    def jobProgress(self, run, report):
        """The latest progress report of a run held here."""
        if self.table.get(run.id) is run and run.out:
            self.recorder.progress(run, report)

    def jobEnded(self, run, outcome, seconds, report=None):
        """``report``: a last progress report, written with the end."""
        self.feeder.runTime.add(seconds)
        if self.table.get(run.id) is not run or not run.out:
            return  # put back at shutdown already; its end is not recorded
        if report is not None:
            self.recorder.progress(run, report, write=False)
        if not self.running and outcome.error == STOPPED:
            self.recorder.putBack(run, started=True)
            self.log.info('Job {id} ({task}) put back in the queue',
                          id=run.id, task=run.row['task'])
            return
        self.recorder.ended(run, outcome, seconds)

    def jobReturned(self, run):
        """The pool gives back a run it did not start."""
        if run.cancelled:
            self._forget(run)
        elif self.running:
            self.table.hold(run, first=True)
        else:
            self.recorder.putBack(run, started=False)

    def _recorded(self, run, status):
        self._forget(run)
        if run.phase != ENDED:
            return
        if status is None:
            self.log.info('Job {id} ({task}) was cancelled or taken back '
                          'while it ran; its end is not recorded',
                          id=run.id, task=run.row['task'])
            return
        if self.onJobEnded is not None:
            self.onJobEnded(run.row['task'], run.seconds, run.outcome.ok)
        if run.row.get('notify') is not None and status in FINISHED:
            self._notifyOwed()
        self.jobLog.ended(run, status)

    def _forget(self, run):
        self.table.remove(run)
        if self._drained is not None and not self.table.out():
            drained, self._drained = self._drained, None
            drained.callback(None)

    def workers(self):
        """This server's workers now: ``size`` configured, ``live``,
        ``busy`` and the ids ``running`` here."""
        return dict(size=self.pool.size, live=self.pool.live,
                    busy=self.pool.busy, running=self.table.running())

    # The tick

    def _tick(self):
        now = self.clock.seconds()
        if not (self._recovered or self._recovering):
            self._recover()
        self.feeder.wake(scheduled=True)
        if now - self._lastMisfires >= self.misfireInterval:
            self._misfires()
        if now - self._lastSample >= self.sampleInterval:
            self._sampleQueue()
        if self.shared and now - self._lastPoll >= self.pollInterval:
            self.catchUp()

    @defer.inlineCallbacks
    def _misfires(self):
        """Apply the cron jobs' misfire policies (at start, and once a
        minute for runs that a busy pool left waiting)."""
        self._lastMisfires = self.clock.seconds()
        try:
            moved = yield self.write(self.service.running.handleMisfires)
        except StoreUnavailable:
            pass  # logged once, by the store (its outage); tried again
        except Exception:
            self.log.failure('Checking cron misfires failed')
        else:
            if moved:
                self.log.info('{count} cron job(s) had missed due times',
                              count=moved)

    @defer.inlineCallbacks
    def _sampleQueue(self):
        """Record the queue's depth in this minute's counters (the
        dashboard's chart)."""
        self._lastSample = self.clock.seconds()
        try:
            yield self.write(self.service.running.sampleQueue)
        except Exception as error:
            self.log.warn('Sampling the queue depth failed: {error}',
                          error=error)

    # Starting and stopping

    @defer.inlineCallbacks
    def _recover(self):
        """Put back the jobs an earlier run of this server left claimed (a
        crash, kill -9). Until that has worked (the store may be
        unavailable at start), it is tried again at every tick; feeding
        need not wait for it, as those jobs cannot be claimed twice."""
        self._recovering = True
        try:
            moved = yield self.write(self.service.running.recoverAbandoned,
                                     self._since)
        except Exception as error:
            if not (self._recoverWarned and isinstance(error,
                                                       StoreUnavailable)):
                self.log.warn('Cannot yet put back the jobs an earlier run '
                              'left running ({error}); trying again',
                              error=error)
            self._recoverWarned = True
        else:
            self._recovered = True
            if moved:
                self.log.warn('Put {count} job(s) left running by an '
                              'earlier run back in the queue', count=moved)
        finally:
            self._recovering = False

    @defer.inlineCallbacks
    def startService(self):
        super().startService()
        self._lastPoll = self.clock.seconds()
        self._lastSample = float('-inf')
        self._recovered = self._recovering = self._recoverWarned = False
        # Recovery leaves alone the claims made from now on: ours.
        self._since = time.time()
        self._limited = bool(self.service.routing.taskLimits())
        yield self._recover()
        yield self._misfires()
        if self.running:
            self.feeder.startFeeding()
            self._loop = task.LoopingCall(self._tick)
            self._loop.clock = self.clock
            self._loopDone = self._loop.start(self.interval, now=True)

    @defer.inlineCallbacks
    def stopService(self):
        super().stopService()
        if self._loop is not None and self._loop.running:
            self._loop.stop()
            yield self._loopDone
        self._loop = None
        for run in (yield self.feeder.stopFeeding()):
            self.recorder.putBack(run, started=False)
        self.pool.recallWaiting()
        if self.table.out():
            yield self._drain()
        self.recorder.stopping = True
        yield self.recorder.idle()
        self.jobLog.flush()
        self.waiters.releaseAll()

    def hurry(self):
        """Wait no longer for running jobs (a second Ctrl-C): stop their
        workers now, and put back in the queue what still runs."""
        kill, giveUp = self._deadlines or (None, None)
        if kill is None or not kill.active():
            return
        self.log.info('Not waiting for running jobs: their workers are '
                      'stopped now and the jobs put back in the queue')
        kill.reset(0)
        if giveUp.active():
            giveUp.reset(min(REAP, giveUp.getTime() - self.clock.seconds()))

    @defer.inlineCallbacks
    def _drain(self):
        """Let running jobs finish within the grace period; then stop the
        workers, and put back in the queue what still runs (threads cannot
        be stopped; their late end is not recorded)."""
        self.log.info('Waiting up to {grace} s for {count} running job(s) '
                      '(Ctrl-C again: stop them now, back in the queue)',
                      grace=self.grace, count=len(self.table.running()))
        self._drained = defer.Deferred()
        kill = self.clock.callLater(self.grace, self.pool.kill)
        # A few seconds past the grace for killed processes to be reaped.
        enough = defer.Deferred()
        giveUp = self.clock.callLater(self.grace + REAP, enough.callback,
                                      None)
        self._deadlines = (kill, giveUp)
        yield defer.DeferredList([self._drained, enough],
                                 fireOnOneCallback=True, consumeErrors=True)
        self._deadlines = ()
        for call in (kill, giveUp):
            if call.active():
                call.cancel()
        self._drained = None
        for run in self.table.out():
            self.recorder.putBack(run, started=run.startedAt is not None)
            self.log.warn('Job {id} ({task}) still ran at shutdown; put '
                          'back in the queue', id=run.id,
                          task=run.row['task'])
