"""The job pipeline's middle: from the store to the workers and back.

::

    wire --add--> TaskService --write--> store --onAdd--> Feeder --claim-->
    store --rows--> pool (workers) --started/progress/ended--> Recorder
    --write--> store --onEnd--> Waiters, CancelWatch (and the Notifier, for
    jobs that owe a completion call)

The dispatcher composes those parts (``feeder``, ``recorder``,
``waiters``, ``cancelWatch``) and is the pool's ``handler``. It drives
them with a ``LoopingCall`` once a second (due cron and delayed jobs,
cron misfires once a minute, the queue's depth sampled for the chart
once a minute, and on a shared store the catching up of ends whose
notifications may have been missed), puts back jobs left
running by an earlier run at start, and on stop gives back what it holds:
claimed jobs not started, then, after the grace period, jobs still
running. Every store call goes through ``read`` or ``write`` (off the
reactor thread); the service's events reach the reactor through
``relay``.
"""

import time

from twisted.application.service import Service
from twisted.internet import defer, task
from twisted.logger import Logger

from remotetask.core.status import CANCELLED, FINISHED
from remotetask.errors import NoSuchTask, StoreUnavailable
from remotetask.server.cancelwatch import CANCELLED_WHILE_RUNNING, CancelWatch
from remotetask.server.feeder import Feeder
from remotetask.server.processpool import STOPPED
from remotetask.server.recorder import Recorder
from remotetask.server.relay import ThreadRelay
from remotetask.server.waiters import Waiters

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
                 maxWaiters=10000, misfireInterval=60.0, claimCall=None,
                 batchNumber=lambda: None, logJobs='all',
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
        #: Which ended runs get a log line: 'all', 'failed' or 'none'.
        self.logJobs = logJobs
        #: Runs claimed here and handed to the pool, not yet recorded.
        self.held = {}
        self._started = set()
        self._limited = False
        self._drained = None
        self._deadlines = ()  # while draining: the kill and the give-up
        self._loop = self._loopDone = None
        self._lastMisfires = self._lastPoll = self._lastSample = None
        pool.handler = self
        # Claims run last in the writer's batch (claimCall), so that a
        # claim sees every add of its batch and the feeder can tell which
        # adds it has seen (batchNumber).
        self.feeder = Feeder(service, pool, claimCall or write, self._submit,
                             self._giveBackUnstarted, clock,
                             batchNumber=batchNumber)
        self.recorder = Recorder(service, write, self._recorded, clock,
                                 progressInterval=progressInterval)
        self.waiters = Waiters(service, read, clock, maxWaiters)
        self.cancelWatch = CancelWatch(service, read, self._here,
                                       self._stopRun)
        relay = relay or ThreadRelay(clock)
        service.onAdd(lambda: relay(self.added, batchNumber()))
        service.onEnd(lambda jobid, status: relay(self.ended, jobid,
                                                  status))

    # What the service and other servers tell

    def added(self, batch=None):
        """A job may have become claimable (committed in the writer's
        batch ``batch``, when known)."""
        self.feeder.wake(batch=batch)

    def ended(self, jobid, status):
        """``jobid`` ended (``status`` None: not told which way, or
        ``jobid`` None: ends may have gone unheard). Here or on another
        server, an end may leave room under a task's concurrency limit for
        a job held back: with limited tasks, the feeder looks at once,
        rather than at the next tick (without, an end makes no job
        claimable, and idle servers need not claim at every end)."""
        if self._limited:
            self.feeder.wake()
        if jobid is None:
            self.catchUp()
            return
        self.waiters.ended(jobid, status)
        self.cancelWatch.ended(jobid, status)
        if status == CANCELLED:
            self._notifyOwed()

    def _notifyOwed(self):
        if self.onNotifyOwed is not None:
            self.onNotifyOwed()

    def catchUp(self):
        """Look for ends that went unheard (a shared store's
        notifications dropped for a while)."""
        self._lastPoll = self.clock.seconds()
        return defer.DeferredList([self.waiters.catchUp(),
                                   self.cancelWatch.catchUp()])

    # Handing runs to the pool

    def _submit(self, row):
        try:
            taskObject = self.service.registry.lookup(row['task'])
        except NoSuchTask:
            # Claims take only the tasks of the registry, so this is a
            # task that left it since: the job waits for a server that
            # has it, as any job whose task no server serves.
            self.log.error('Job {id} of task {task}, which this server no '
                           'longer has, goes back to the queue',
                           id=row['id'], task=row['task'])
            self.recorder.putBack(row, started=False)
            return
        self.held[row['id']] = row
        self.pool.submit(row, taskObject)

    def _here(self):
        return set(self.held) | {row['id'] for row in self.feeder.buffer}

    def _stopRun(self, jobid):
        """Stop the run of a job cancelled while it was here."""
        if self.feeder.drop(jobid) is not None:
            self.cancelWatch.forget(jobid)
        elif jobid in self.held:
            self.pool.stopJob(jobid, CANCELLED_WHILE_RUNNING)

    def _giveBackUnstarted(self, row):
        self.recorder.putBack(row, started=False)

    # The pool's handler

    def workerFree(self):
        self.feeder.wake(room=True)

    def jobStarted(self, row):
        # The row is what finishRun decides retries from: count the
        # attempt here as the store will.
        row['attempts'] += 1
        row['started'] = time.time()
        self._started.add(row['id'])
        self.recorder.started(row)
        if row['id'] in self.cancelWatch.cancelled:
            # Cancelled while it waited in a worker, and started before
            # the recall reached it.
            self.pool.stopJob(row['id'], CANCELLED_WHILE_RUNNING)

    def jobProgress(self, row, report):
        """The latest progress report of a run held here."""
        if row['id'] in self.held:
            self.recorder.progress(row, report)

    def jobEnded(self, row, outcome, seconds):
        self.feeder.runTime.add(seconds)
        if row['id'] not in self.held:
            return  # put back at shutdown already; its end is not recorded
        if not self.running and outcome.error == STOPPED:
            self._forget(row['id'])
            self.recorder.putBack(row, started=True)
            self.log.info('Job {id} ({task}) put back in the queue',
                          id=row['id'], task=row['task'])
            return
        self.recorder.ended(row, outcome, seconds)

    def jobReturned(self, row):
        """The pool gives back a run it did not start."""
        jobid = row['id']
        self._forget(jobid)
        if jobid in self.cancelWatch.cancelled:
            self.cancelWatch.forget(jobid)
        elif self.running:
            self.feeder.giveBack(row)
        else:
            self.recorder.putBack(row, started=False)

    def _recorded(self, row, outcome, status, seconds):
        self._forget(row['id'])
        self.cancelWatch.forget(row['id'])
        if status is None:
            self.log.info('Job {id} ({task}) was cancelled or taken back '
                          'while it ran; its end is not recorded',
                          id=row['id'], task=row['task'])
            return
        if self.onJobEnded is not None:
            self.onJobEnded(row['task'], seconds, outcome.ok)
        if row.get('notify') is not None and status in FINISHED:
            self._notifyOwed()
        if self.logJobs == 'all' or (self.logJobs == 'failed'
                                     and not outcome.ok):
            # Written out here in one go: the logger's formatter costs more
            # per field than the rest of recording a run.
            then = ' (will be retried)' if status == 'queued' else ''
            result = 'ok' if outcome.ok else outcome.error
            self.log.info(
                '{line}', id=row['id'], task=row['task'], seconds=seconds,
                ok=outcome.ok, line=f'Job {row["id"]} ({row["task"]}) '
                f'ended in {seconds:.3f} s: {result}{then}')

    def _forget(self, jobid):
        self.held.pop(jobid, None)
        self._started.discard(jobid)
        if not self.held and self._drained is not None:
            drained, self._drained = self._drained, None
            drained.callback(None)

    def workers(self):
        """This server's workers now: ``size`` configured, ``live``,
        ``busy`` and the ids ``running`` here."""
        return dict(size=self.pool.size, live=self.pool.live,
                    busy=self.pool.busy, running=sorted(self._started))

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
            moved = yield self.write(self.service.handleMisfires)
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
            yield self.write(self.service.sampleQueue)
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
            moved = yield self.write(self.service.recoverAbandoned,
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
        self._limited = bool(self.service.taskLimits())
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
        for row in (yield self.feeder.stopFeeding()):
            self.recorder.putBack(row, started=False)
        self.pool.recallWaiting()
        if self.held:
            yield self._drain()
        self.recorder.stopping = True
        yield self.recorder.idle()
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
                      grace=self.grace, count=len(self._started))
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
        for jobid, row in list(self.held.items()):
            started = jobid in self._started
            self._forget(jobid)
            self.recorder.putBack(row, started=started)
            self.log.warn('Job {id} ({task}) still ran at shutdown; put '
                          'back in the queue', id=jobid, task=row['task'])

