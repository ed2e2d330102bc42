"""Handing due jobs to free workers, in the reactor.

Modelled on ``TimerService``: a fresh ``LoopingCall`` per start, driving
``wake()`` once a second (for cron and delayed jobs, and as a fallback),
an injectable clock, and a stop that waits for the work in flight. An
``add()`` wakes it at once, so a job on an idle server starts within
milliseconds rather than on the next tick. ``wake()`` never raises: a
raise would end a LoopingCall for good.

Store calls go through ``storeCall`` (a thread pool the server owns);
task code runs in the worker pool. Nothing here blocks the reactor.
"""

import time

from twisted.application.service import Service
from twisted.internet import defer, task
from twisted.logger import Logger

from remotetask.core import codec
from remotetask.errors import NoSuchTask, RemoteTaskError, StoreUnavailable
from remotetask.core.runner import Outcome
from remotetask.core.status import CANCELLED, FINISHED, QUEUED
from remotetask.server.workerpool import STOPPED


class Dispatcher(Service):
    """Claim due jobs while workers are free; record how they end."""

    name = 'dispatcher'
    log = Logger()

    #: ``onJobEnded(task, seconds, ok)``, called in the reactor thread when
    #: a run's end is recorded (the metrics' durations and failures).
    onJobEnded = None

    def __init__(self, service, workers, storeCall, clock=None,
                 interval=1.0, grace=30.0, checkOutput=None):
        from twisted.internet import reactor
        self.service = service
        self.workers = workers
        self.storeCall = storeCall
        self.clock = clock or reactor
        self.interval = interval
        self.grace = grace
        self.checkOutput = checkOutput
        self.inFlight = {}
        self._running = {}
        self._releasing = []
        self._reserved = 0
        self._lastMisfireCheck = 0
        self._waiters = {}
        self._filling = False
        self._again = False
        self._loop = None
        self._loopDone = None

    # Waking up

    def wakeFromThread(self):
        """For ``TaskService.onAdd``: called in a store thread."""
        self.clock.callFromThread(self.wake)

    def wake(self):
        if not self.running:
            return
        if self._filling:
            self._again = True
            return
        self._filling = True
        d = self._fill()
        d.addErrback(lambda f: self.log.failure('Dispatching failed', f))
        d.addBoth(self._filled)

    def _filled(self, ignored):
        self._filling = False
        if self._again:
            self._again = False
            self.wake()

    @property
    def free(self):
        """Workers neither busy nor promised to a claim in flight."""
        return self.workers.free - self._reserved if self.running else 0

    def claimWith(self, call, *args):
        """Run ``call(*args, n)`` in a store thread, where ``n`` is the
        number of free workers, reserved meanwhile; ``call`` returns
        ``(rows, value)``: it claimed ``rows`` (at most n), which start
        here, and ``value`` is the result. Work that ends in a claim (an
        add, a finished job) so costs one thread hop, not two."""
        slots = self.free
        self._reserved += slots
        d = self.storeCall(call, *args, slots)

        def claimed(result):
            self._reserved -= slots
            rows, value = result
            for row in rows:
                if self.running:
                    self._start(row)
                else:
                    # Stopping began while this claim was in flight: the
                    # stop waits only for jobs already started, so give
                    # these back rather than run them half-watched.
                    released = self.storeCall(self.service.store.release,
                                              row['id'], row['token'])
                    released.addErrback(
                        lambda f: self.log.failure('Releasing failed', f))
                    self._releasing.append(released)
            if not slots:
                # Every free worker was promised to claims already in
                # flight, which may have looked before this call's work
                # (an add) was committed: look again.
                self.wake()
            return value

        def failed(failure):
            self._reserved -= slots
            return failure
        return d.addCallbacks(claimed, failed)

    @defer.inlineCallbacks
    def _fill(self):
        while self.free > 0:
            self._again = False
            count = yield self.claimWith(
                lambda slots: (rows := self.service.claimSome(slots),
                               len(rows)))
            if not count:
                return

    # Running

    def _start(self, row):
        started = time.monotonic()
        try:
            taskObject = self.service.registry.lookup(row['task'])
        except NoSuchTask as error:
            ran = defer.succeed(Outcome.failed(str(error)))
        else:
            ran = self.workers.run(row, taskObject)
        finished = ran.addCallback(self._record, row, started)
        finished.addErrback(
            lambda f: self.log.failure('Job {id} could not be recorded', f,
                                       id=row['id']))
        finished.addBoth(self._done, row)
        # (_done cannot have run yet: recording always waits for a store
        # thread.)
        self.inFlight[row['id']] = finished
        self._running[row['id']] = row

    @defer.inlineCallbacks
    def _record(self, outcome, row, started):
        if not self.running and outcome.error == STOPPED:
            yield self.storeCall(self.service.store.release, row['id'],
                                 row['token'])
            self.log.info('Job {id} ({task}) put back in the queue',
                          id=row['id'], task=row['task'])
            return
        delay = 0.5
        while True:
            try:
                outcome, status = yield self.claimWith(self._finish, row,
                                                       outcome)
                break
            except StoreUnavailable as error:
                # The outcome is known only here: keep it until the store
                # takes it (a full disk freed, the database back), unless
                # the server stops, which leaves the job to recovery.
                if not self.running:
                    raise
                self.log.warn('Job {id} ({task}) ended but cannot be '
                              'recorded yet ({error}); trying again in '
                              '{delay:g} s', id=row['id'], task=row['task'],
                              error=error, delay=delay)
                yield task.deferLater(self.clock, delay, lambda: None)
                delay = min(delay * 2, 30.0)
        if status is None:
            self.log.info('Job {id} ({task}) was cancelled or taken back '
                          'while it ran; its end is not recorded',
                          id=row['id'], task=row['task'])
        else:
            seconds = time.monotonic() - started
            if self.onJobEnded is not None:
                self.onJobEnded(row['task'], seconds, outcome.ok)
            self.log.info(
                'Job {id} ({task}) ended in {seconds:.3f} s: {result}{then}',
                id=row['id'], task=row['task'], seconds=seconds,
                result='ok' if outcome.ok else outcome.error,
                then=' (will be retried)' if status == QUEUED else '')
        return status

    def _finish(self, row, outcome, slots):
        """In a store thread: refuse an output the clients could not
        read (``checkOutput``), record the outcome, and claim the next
        jobs for the free workers (``claimWith``)."""
        if outcome.ok and self.checkOutput is not None:
            try:
                self.checkOutput(codec.decode(outcome.output))
            except RemoteTaskError as error:
                outcome = Outcome.failed(error.message)
        status = self.service.finishRun(row, outcome)
        rows = []
        if self.running:
            try:
                rows = self.service.claimSome(slots)
            except RemoteTaskError:
                # The end is recorded; the next round claims instead.
                self.log.failure('Claiming after job {id} failed',
                                 id=row['id'])
        return rows, (outcome, status)

    def _done(self, status, row):
        self.inFlight.pop(row['id'], None)
        self._running.pop(row['id'], None)
        if status is None or status in FINISHED:
            # None: not known here (released, cancelled, an error in
            # recording); waiters read the store.
            self._notify(row['id'], status)
        self.wake()

    # Waiting for a job to finish

    @defer.inlineCallbacks
    def waitFor(self, jobid, timeout):
        """The job's status once it is finished, or after ``timeout``
        seconds, whichever comes first; no polling of the store in
        between (another server's completions are seen on the tick)."""
        # Listen before looking, so that an end between the two is heard.
        waiter = defer.Deferred()
        self._waiters.setdefault(jobid, []).append(waiter)
        if jobid not in self.inFlight or timeout <= 0:
            # (A job running here is known not to be finished.)
            try:
                status = yield self.storeCall(self.service.getStatus, jobid)
            except BaseException:
                self._stopWaiting(jobid, waiter)
                raise
            if status in FINISHED or timeout <= 0:
                self._stopWaiting(jobid, waiter)
                return status
        timer = self.clock.callLater(timeout, self._stopWaiting, jobid,
                                     waiter)
        status = yield waiter
        if timer.active():
            timer.cancel()
        if status is None:
            status = yield self.storeCall(self.service.getStatus, jobid)
        return status

    def finishedElsewhereFromThread(self, jobid):
        """For a shared store's notifications (a store thread): ``jobid``
        ended, perhaps on another server; wake whoever waits for it."""
        self.clock.callFromThread(self._finishedElsewhere, jobid)

    def _finishedElsewhere(self, jobid):
        if jobid in self._waiters and jobid not in self.inFlight:
            self._notify(jobid)

    def _stopWaiting(self, jobid, waiter):
        waiters = self._waiters.get(jobid, [])
        if waiter in waiters:
            waiters.remove(waiter)
            if not waiters:
                del self._waiters[jobid]
            waiter.callback(None)

    def _notify(self, jobid, status=None):
        """Wake whoever waits for ``jobid``, with its final status when it
        is known here (saving them a read of the store)."""
        for waiter in self._waiters.pop(jobid, []):
            waiter.callback(status)

    @defer.inlineCallbacks
    def _checkWaiters(self):
        """Wake waiters whose job finished elsewhere (another server)."""
        for jobid in list(self._waiters):
            if jobid in self.inFlight:
                continue
            try:
                status = yield self.storeCall(self.service.getStatus, jobid)
            except KeyError:
                status = None
            if status is None or status in FINISHED:
                self._notify(jobid)

    @defer.inlineCallbacks
    def _misfires(self):
        """Apply the cron jobs' misfire policies (at start, and once a
        minute for runs that a busy pool left waiting)."""
        self._lastMisfireCheck = self.clock.seconds()
        try:
            moved = yield self.storeCall(self.service.handleMisfires)
        except Exception:
            self.log.failure('Checking cron misfires failed')
        else:
            if moved:
                self.log.info('{count} cron job(s) had missed due times',
                              count=moved)

    def _tick(self):
        self.wake()
        if self.clock.seconds() - self._lastMisfireCheck >= 60:
            self._misfires()
        if self._waiters:
            self._checkWaiters().addErrback(
                lambda f: self.log.failure('Checking waiters failed', f))
        if self.inFlight:
            self.stopCancelled().addErrback(
                lambda f: self.log.failure('Checking cancels failed', f))

    @defer.inlineCallbacks
    def stopCancelled(self, jobids=None):
        """Stop the workers of running jobs that were cancelled (here or
        on another server sharing the store)."""
        for jobid in list(self.inFlight if jobids is None else jobids):
            if jobid not in self.inFlight:
                continue
            status = yield self.storeCall(self.service.getStatus, jobid)
            if status == CANCELLED:
                self.workers.stopJob(
                    jobid, 'The job was cancelled while it ran.')

    # Starting and stopping

    @defer.inlineCallbacks
    def startService(self):
        super().startService()
        self.service.onAdd(self.wakeFromThread)
        moved = yield self.storeCall(self.service.recoverAbandoned)
        if moved:
            self.log.warn('Put {count} job(s) left running by an earlier '
                          'run back in the queue', count=moved)
        yield self._misfires()
        if self.running:
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
        if self.inFlight:
            self.log.info('Waiting up to {grace} s for {count} running '
                          'job(s)', grace=self.grace,
                          count=len(self.inFlight))
            pending = defer.DeferredList(list(self.inFlight.values()))
            timer = self.clock.callLater(self.grace, self.workers.kill)
            # Threads cannot be killed: past the grace period (and a few
            # seconds for killed processes to be reaped) stop waiting, and
            # put what still runs back in the queue.
            enough = task.deferLater(self.clock, self.grace + 5, lambda: None)
            yield defer.DeferredList([pending, enough],
                                     fireOnOneCallback=True,
                                     consumeErrors=True)
            enough.cancel()
            if timer.active():
                timer.cancel()
            for jobid, row in list(self._running.items()):
                yield self.storeCall(self.service.store.release, jobid,
                                     row['token'])
                self.log.warn('Job {id} ({task}) still ran at shutdown; '
                              'put back in the queue', id=jobid,
                              task=row['task'])
        # Claims that were in flight when stopping began (see claimWith).
        for _ in range(200):  # at most ten seconds
            if not (self._reserved or self._releasing):
                break
            releasing, self._releasing = self._releasing, []
            yield defer.DeferredList(releasing)
            if self._reserved:
                yield task.deferLater(self.clock, 0.05, lambda: None)
        for jobid in list(self._waiters):
            self._notify(jobid)
