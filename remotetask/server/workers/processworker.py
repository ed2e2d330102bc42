"""The server's side of one worker process of the pool (``processpool``).

A ``Worker`` is the process's ``ProcessProtocol``: it sends the jobs the
pool gives it, several to a message, keeps the runs it holds (the one
running and those sent ahead) and hears what the process says of them
(``workerprotocol``), telling the pool's handler. It recalls the jobs
waiting behind one that runs longer than the pool's ``recallAfter``,
kills the process when a job outlives its task's ``timeout`` or is
stopped, and, when the process ends, ends the job it ran and gives the
others back.
"""

import collections
import os
import signal

from twisted.internet import defer, error, protocol

from remotetask.core import progress
from remotetask.core.runner import Outcome
from remotetask.core.task import option
from remotetask.server.pipeline.inflight import RUNNING, SENT
from remotetask.server.workers.eagerpipe import EagerPipe
from remotetask.server.workers.workerprotocol import MessageReceiver, frame


class WorkerMessages(MessageReceiver):
    """The framing on a worker's pipes, handing messages to its Worker."""

    def __init__(self, worker, maxLength):
        self.worker = worker
        self.MAX_LENGTH = maxLength

    def connectionMade(self):
        self.pipe = EagerPipe.of(self.transport)

    def messagesReceived(self, messages):
        self.worker.messagesReceived(messages)

    def sendMessages(self, messages):
        """Send ``[(header, body)]`` in one frame, at once when the pipe
        is free (``eagerpipe``: a job added alone reaches its worker
        without a reactor iteration of its own)."""
        self.pipe.write(frame(messages))


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
            if 'ended' in header:
                if header['ok']:
                    outcome = Outcome(True, body)
                else:
                    outcome = Outcome(False, body, header.get('error'),
                                      header.get('traceback'),
                                      header.get('retry', False))
                # Its last report, if any, is already a progress.value.
                self._ended(header['ended'], outcome, header.get('took'),
                            header.get('progress'))
                self._freed = True
                # The next job's start, said with this end.
                if 'started' in header:
                    self._started(header['started'])
            elif 'started' in header:
                self._started(header['started'])
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

    def _ended(self, jobid, outcome, took=None, report=None):
        """``took``: how long the run took, as the worker measured it
        (its start may have reached us in the same message as its end);
        ``report``: its last progress report, which came with its end."""
        self._cancelTimers()
        run = self.runs.pop(jobid)
        self.running = None
        if took is None:
            took = self.pool.clock.seconds() - run.startedAt
        self.pool.handler.jobEnded(run, outcome, took, report)

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
