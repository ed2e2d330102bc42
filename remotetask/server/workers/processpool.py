"""Where jobs run by default: a pool of worker processes.

The pool starts ``size`` children running ``remotetask.server.
workerprocess``; each resolves tasks by name itself, so only tasks
reachable by name (entry points, import paths, command files) run there.

A worker may hold ``depth`` jobs: the one it runs and some sent ahead, so
that it starts the next one without waiting for the server (the feeder
sets ``depth`` from how fast tasks are). A job queued behind one that runs
longer than ``recallAfter`` seconds is recalled and given back, so that a
slow job never keeps short ones from an idle worker. A worker that dies
mid-job ends that job in error (retried within its attempts) and is
replaced; its queued jobs are given back unrun. A job over its task's
``timeout`` has its worker killed.

The pool tells its ``handler`` (the dispatcher) what happens:
``jobStarted(run)`` (the run's start stamped, on the pool's clock),
``jobProgress(run, report)`` (a progress report,
``remotetask.core.progress.value``; the workers send at most one per job
per ``progressInterval`` seconds), ``jobEnded(run, outcome, seconds)``,
``jobReturned(run)`` for a job given back without having started, and
``workerFree()`` once per read of a worker's pipe that freed room. The
runs are the in-flight table's (``inflight.Run``); a worker keeps those it
has, not copies. Jobs go to a worker several to a message; a job's end
comes back with the next job's start (``workerprotocol``).
"""

import collections
import json
import os
import signal
import sys

from twisted.application.service import Service
from twisted.internet import defer, error, protocol
from twisted.logger import Logger

from remotetask.core import progress
from remotetask.core.runner import Outcome
from remotetask.core.task import option
from remotetask.server.pipeline.inflight import RUNNING, SENT, STOPPED
from remotetask.server.workers.workerprotocol import MAX_FRAME, MessageReceiver


class WorkerMessages(MessageReceiver):
    """The framing on a worker's pipes, handing messages to its Worker."""

    def __init__(self, worker, maxLength):
        self.worker = worker
        self.MAX_LENGTH = maxLength

    def messagesReceived(self, messages):
        self.worker.messagesReceived(messages)


def _howItEnded(value):
    """How a process ended (``ProcessTerminated``), as a few words: the
    signal by its name, or the exit status."""
    number = getattr(value, 'signal', None)
    if number:
        try:
            name = f', {signal.Signals(number).name}'
        except ValueError:
            name = ''
        return f'killed by signal {number}{name}'
    status = getattr(value, 'exitCode', None)
    if status is not None:
        return f'exit status {status}'
    return str(value).rstrip('.')


class Worker(protocol.ProcessProtocol):
    """The server's side of one worker process."""

    def __init__(self, pool):
        self.pool = pool
        self.messages = WorkerMessages(self, pool.maxMessage)
        #: The runs (the in-flight table's) sent here and not ended, in
        #: the order sent: jobid -> Run; the one started, or None.
        self.runs = collections.OrderedDict()
        self.running = None
        self.stopReason = None
        self.timers = []
        self.recallTimer = None
        #: When the running job will have run ``recallAfter`` seconds.
        self._longAt = 0.0
        self.ended = defer.Deferred()
        self._freed = False

    @property
    def pid(self):
        return self.transport.pid if self.transport else None

    def connectionMade(self):
        self.messages.makeConnection(self.transport)

    def outReceived(self, data):
        """What one read brought (several messages when the reactor was
        busy): the pool hears once that room freed up."""
        self._freed = False
        self.messages.dataReceived(data)
        if self._freed:
            self.pool.workerFree()

    def errReceived(self, data):
        for line in data.decode('utf-8', 'replace').splitlines():
            self.pool.log.info('worker {pid}: {line}', pid=self.pid,
                               line=line)

    # Jobs

    def _runningLong(self):
        return self.running is not None and (
            self.pool.clock.seconds() >= self._longAt)

    def room(self):
        """How many more jobs this worker takes: up to the pool's depth,
        none while it is being stopped, and none ahead of a job that has
        already run longer than ``recallAfter``."""
        # Asked several times per job: a full worker answers before the
        # clock is read.
        left = self.pool.depth - len(self.runs)
        if left <= 0 or self.stopReason is not None or self._runningLong():
            return 0
        return left

    def send(self, runs):
        """Send ``runs`` in one message."""
        for run in runs:
            self.runs[run.id] = run
            run.phase, run.worker = SENT, self
        self.messages.sendMessages([
            ({'run': run.id, 'task': run.row['task']}, run.row['input'])
            for run in runs])
        if self.running is not None:
            self._watchWaiting()

    def _watchWaiting(self):
        """Recall what waits here once the running job has run for
        ``recallAfter`` seconds (unless it ends first).

        One timer per worker, left armed across jobs and re-armed when it
        fires early (``_recallDue``): a callLater and its cancel per job
        cost more than the job's own bookkeeping, while this costs one
        per ``recallAfter`` at most."""
        if self.recallTimer is None:
            self.recallTimer = self.pool.clock.callLater(
                max(0.0, self._longAt - self.pool.clock.seconds()),
                self._recallDue)

    def _recallDue(self):
        """The recall timer fired: recall if the job running now (maybe
        not the one it was armed for) has run long and others wait;
        otherwise wait for this one's turn, or lapse when none runs."""
        self.recallTimer = None
        if self.running is None or len(self.runs) < 2:
            return
        left = self._longAt - self.pool.clock.seconds()
        if left > 0:
            self.recallTimer = self.pool.clock.callLater(left,
                                                         self._recallDue)
        else:
            self.recallWaiting()

    def recallWaiting(self):
        """Ask for every job queued here that has not started."""
        self.recall([run for run in self.runs.values()
                     if run is not self.running])

    def recall(self, runs):
        if runs:
            self.messages.sendMessages([({'recall': run.id}, None)
                                        for run in runs])

    def messagesReceived(self, messages):
        """One frame's news."""
        for header, body in messages:
            if 'started' in header:
                self._started(header['started'])
            elif 'ended' in header:
                if header.get('progress') is not None:
                    self._progress(header['ended'], header['progress'])
                if header['ok']:
                    outcome = Outcome(True, body)
                else:
                    outcome = Outcome(False, body, header.get('error'),
                                      header.get('traceback'),
                                      header.get('retry', False))
                self._ended(header['ended'], outcome, header.get('took'))
                self._freed = True
            elif 'progress' in header:
                self._progress(header['progress'], header)
            elif 'recalled' in header:
                run = self.runs.pop(header['recalled'])
                self.pool.handler.jobReturned(run)
                self._freed = True

    def _started(self, jobid):
        run = self.runs[jobid]
        self.running, run.phase = run, RUNNING
        run.startedAt = self.pool.clock.seconds()
        self._longAt = run.startedAt + self.pool.recallAfter
        timeout = option(run.task, 'timeout')
        if timeout:
            self._after(timeout, self.stop,
                        f'The job timed out after {timeout:g} s; its worker '
                        'process was stopped.')
        if len(self.runs) > 1:
            self._watchWaiting()
        self.pool.handler.jobStarted(run)

    def _progress(self, jobid, report):
        if jobid in self.runs:
            self.pool.handler.jobProgress(
                self.runs[jobid], progress.value(
                    report['fraction'], report.get('message'), report['at']))

    def _after(self, seconds, function, *args):
        self.timers.append(self.pool.clock.callLater(seconds, function,
                                                     *args))

    def _cancelTimers(self):
        """Cancel the running job's timeouts (there are none for most
        tasks); the recall timer stays armed for the next job."""
        if self.timers:
            for timer in self.timers:
                if timer.active():
                    timer.cancel()
            self.timers = []

    def _ended(self, jobid, outcome, took=None):
        """``took``: how long the run took, as the worker measured it
        (its start may have reached us in the same message as its end)."""
        self._cancelTimers()
        run = self.runs.pop(jobid)
        self.running = None
        if took is None:
            took = self.pool.clock.seconds() - run.startedAt
        self.pool.handler.jobEnded(run, outcome, took)

    def stop(self, reason):
        """Kill the process (and anything it started); the job it runs
        ends in error with ``reason``."""
        self.stopReason = reason
        try:
            os.killpg(self.pid, signal.SIGKILL)
        except (ProcessLookupError, PermissionError, TypeError):
            try:
                self.transport.signalProcess('KILL')
            except error.ProcessExitedAlready:
                pass

    def processEnded(self, reason):
        self._cancelTimers()
        if self.recallTimer is not None and self.recallTimer.active():
            self.recallTimer.cancel()
        self.recallTimer = None
        if self.running is not None:
            # A worker that died by itself (a crash, the OOM killer) may
            # do better next time; one we stopped (timeout, cancel) not.
            why = self.stopReason or (
                f'The worker process running the job died '
                f'({_howItEnded(reason.value)}).')
            self._ended(self.running.id, Outcome.failed(
                why, retry=self.stopReason is None))
        returned = list(self.runs.values())
        self.runs.clear()
        for run in returned:
            self.pool.handler.jobReturned(run)
        self.pool.workerEnded(self)
        self.ended.callback(None)


class ProcessWorkerPool(Service):
    """Run jobs in ``size`` worker processes; see the module docstring."""

    name = 'workers'
    log = Logger()
    queuesAhead = True

    def __init__(self, registry, size, handler=None, reactor=None,
                 python=sys.executable, recallAfter=0.1,
                 maxMessage=MAX_FRAME, respawnDelays=(0.1, 30.0),
                 progressInterval=0.5):
        if reactor is None:
            from twisted.internet import reactor
        self.registry = registry
        self.size = size
        self.handler = handler
        # Spawns the workers and keeps their timers.
        self.reactor = self.clock = reactor
        self.python = python
        self.recallAfter = recallAfter
        self.maxMessage = maxMessage
        self.respawnDelays = respawnDelays
        self.progressInterval = progressInterval
        self.depth = 1
        self.workers = []
        self._respawning = None
        self._respawnDelay = respawnDelays[0]

    @property
    def live(self):
        """Workers running now (fewer than ``size`` while one is being
        replaced, or when the system refuses new processes)."""
        return len(self.workers)

    @property
    def busy(self):
        return sum(1 for worker in self.workers if worker.running)

    def capacity(self):
        """How many more jobs the workers take now."""
        if not self.running:
            return 0
        return sum(worker.room() for worker in self.workers)

    def submit(self, runs):
        """Send each of ``runs`` (the in-flight table's) to the worker
        with room that holds the fewest jobs, one message per worker
        (only call with at most ``capacity()`` runs)."""
        if len(runs) == 1:
            # The commonest submit (a job's end freed one place): one
            # pass, no lists; a worker's load is len(worker.runs).
            best = None
            for worker in self.workers:
                if worker.room() > 0 and (
                        best is None or len(worker.runs) < len(best.runs)):
                    best = worker
            if best is not None:
                best.send(runs)
                return
        # (A job may cross recallAfter between the caller's look at the
        # capacity and now: then any live worker will do.)
        room = {worker: worker.room() for worker in self.workers}
        batches = {}
        for run in runs:
            worker = min([w for w in self.workers if room[w] > 0] or
                         [w for w in self.workers if w.stopReason is None],
                         key=lambda w: len(w.runs) + len(batches.get(w, ())))
            room[worker] -= 1
            batches.setdefault(worker, []).append(run)
        # Only the workers given jobs: a worker sent an empty message
        # still reads it (a wake-up and a read on each side, per job).
        for worker, batch in batches.items():
            worker.send(batch)

    def workerFree(self):
        self.handler.workerFree()

    def stopJob(self, run, reason):
        """Stop ``run`` if it runs here (its worker is killed), or recall
        it if it waits in a worker."""
        worker = run.worker
        if worker is None or worker not in self.workers:
            return
        if worker.running is run:
            worker.stop(reason)
        elif run.id in worker.runs:
            worker.recall([run])

    def recallWaiting(self):
        for worker in self.workers:
            worker.recallWaiting()

    def kill(self):
        """Stop every worker now; their jobs end with STOPPED."""
        for worker in list(self.workers):
            worker.stop(STOPPED)

    # Processes

    def _spawn(self):
        worker = Worker(self)
        config = json.dumps(dict(parent=os.getpid(),
                                 registry=self.registry.toConfig(),
                                 progressInterval=self.progressInterval))
        self.reactor.spawnProcess(
            worker, self.python,
            [self.python, '-m', 'remotetask.server.workers.workerprocess', config],
            env=os.environ)
        self.workers.append(worker)

    def _fill(self):
        """Start workers until there are ``size``; when the system refuses
        (too many open files or processes), try again later, waiting
        longer each time, so that the pool heals once it can."""
        self._respawning = None
        while self.running and len(self.workers) < self.size:
            try:
                self._spawn()
            except OSError as failure:
                self.log.warn(
                    'Cannot start a worker process ({error}); {live} of '
                    '{size} running, trying again in {delay:g} s',
                    error=failure, live=self.live, size=self.size,
                    delay=self._respawnDelay)
                self._respawning = self.clock.callLater(
                    self._respawnDelay, self._fill)
                self._respawnDelay = min(self._respawnDelay * 2,
                                         self.respawnDelays[1])
                return
        self._respawnDelay = self.respawnDelays[0]
        if self.running:
            self.handler.workerFree()

    def workerEnded(self, worker):
        self.workers.remove(worker)
        if not self.running:
            return
        if worker.stopReason is None:
            self.log.warn('Worker process {pid} died; starting another',
                          pid=worker.pid)
        if self._respawning is None:
            self._fill()

    def startService(self):
        super().startService()
        self._fill()

    def stopService(self):
        super().stopService()
        if self._respawning is not None and self._respawning.active():
            self._respawning.cancel()
        ended = [worker.ended for worker in self.workers]
        for worker in list(self.workers):
            if worker.running is None:
                worker.transport.closeStdin()
            else:
                worker.stop(STOPPED)
        return defer.DeferredList(ended)
