"""Where jobs run: a pool of worker processes, or of threads.

Both pools have the same face for the dispatcher: ``free`` says how many
jobs they can take now, ``run(row, task)`` returns a Deferred that fires
with the job's ``Outcome`` and never fails, and they start and stop as
Twisted services. Neither runs task code on the reactor thread.

The process pool (the default) starts ``size`` children running
``remotetask.server.workerprocess``; each resolves tasks by name itself, so only
tasks reachable by name (entry points, import paths, command files) run
there. A child that dies mid-job ends that job in error with the reason
and is replaced; a job over its task's ``timeout`` has its child killed.
"""

import json
import os
import signal
import sys

from twisted.application.service import Service
from twisted.internet import defer, error, protocol
from twisted.logger import Logger

from remotetask.core import codec
from remotetask.core.runner import Outcome, runTask
from remotetask.server.threadpool import ThreadPoolService
from remotetask.server.workerprocess import HEADER, frame

#: The error of a job whose worker was stopped because the server stops;
#: the dispatcher puts such a job back in the queue instead.
STOPPED = 'The server stopped while the job was running.'


class ThreadWorkerPool(ThreadPoolService):
    """Run jobs in ``size`` threads of this process.

    For tasks registered only in Python. A thread cannot be stopped from
    outside, so task timeouts are not enforced here.
    """

    def __init__(self, service, size, reactor=None):
        super().__init__('remotetask-workers', size, reactor)
        self.service = service
        self.size = size
        self.busy = 0

    @property
    def free(self):
        return self.size - self.busy if self.running else 0

    def run(self, row, task):
        self.busy += 1
        d = self.call(runTask, task, self.service, row['id'],
                      codec.decode(row['input']))

        def done(result):
            self.busy -= 1
            if isinstance(result, Outcome):
                return result
            return Outcome.failed(f'The worker failed: {result.value!r}')
        return d.addBoth(done)

    def stopJob(self, jobid, reason):
        """Threads cannot be stopped; a task that runs long polls
        ``service.isCancelled(jobid)`` instead."""

    def kill(self):
        """Threads cannot be killed; their jobs finish on their own."""


class WorkerProcess(protocol.ProcessProtocol):
    """The server's side of one worker process."""

    def __init__(self, pool):
        self.pool = pool
        self.buffer = b''
        self.job = None
        self.jobid = None
        self.timer = None
        self.stopReason = None
        self.ended = defer.Deferred()

    @property
    def pid(self):
        return self.transport.pid if self.transport else None

    def run(self, row, timeout):
        self.jobid = row['id']
        self.job = defer.Deferred()
        self.stopReason = None
        self.transport.write(frame(dict(id=row['id'], task=row['task'],
                                        input=row['input'])))
        if timeout:
            self.timer = self.pool.reactor.callLater(
                timeout, self.stop,
                f'The job timed out after {timeout:g} s; its worker process '
                'was stopped.')
        return self.job

    def stop(self, reason):
        """Kill the process (and anything it started); the job in hand
        ends in error with ``reason``."""
        self.stopReason = reason
        try:
            os.killpg(self.pid, signal.SIGKILL)
        except (ProcessLookupError, PermissionError, TypeError):
            try:
                self.transport.signalProcess('KILL')
            except error.ProcessExitedAlready:
                pass

    def _finish(self, outcome):
        job, self.job = self.job, None
        self.jobid = None
        if self.timer is not None and self.timer.active():
            self.timer.cancel()
        self.timer = None
        if job is not None:
            job.callback(outcome)

    def outReceived(self, data):
        self.buffer += data
        while len(self.buffer) >= HEADER.size:
            size, = HEADER.unpack_from(self.buffer)
            if len(self.buffer) < HEADER.size + size:
                return
            payload = self.buffer[HEADER.size:HEADER.size + size]
            self.buffer = self.buffer[HEADER.size + size:]
            self._finish(Outcome(**json.loads(payload)))

    def errReceived(self, data):
        for line in data.decode('utf-8', 'replace').splitlines():
            self.pool.log.info('worker {pid}: {line}', pid=self.pid,
                               line=line)

    def processEnded(self, reason):
        if self.job is not None:
            # A worker that died by itself (a crash, the OOM killer) may
            # do better next time; one we stopped (timeout, cancel) not.
            why = self.stopReason or (
                f'The worker process running the job died '
                f'({reason.value}).')
            self._finish(Outcome.failed(why, retry=self.stopReason is None))
        self.pool.workerEnded(self)
        self.ended.callback(None)


class ProcessWorkerPool(Service):
    """Run jobs in ``size`` worker processes; see the module docstring."""

    name = 'workers'
    log = Logger()

    def __init__(self, registry, size, reactor=None, python=sys.executable):
        from twisted.internet import reactor as defaultReactor
        self.registry = registry
        self.size = size
        self.reactor = reactor or defaultReactor
        self.python = python
        self.idle = []
        self.workers = set()

    @property
    def free(self):
        return len(self.idle) if self.running else 0

    def _spawn(self):
        worker = WorkerProcess(self)
        config = json.dumps(dict(parent=os.getpid(),
                                 registry=self.registry.toConfig()))
        self.reactor.spawnProcess(
            worker, self.python,
            [self.python, '-m', 'remotetask.server.workerprocess', config],
            env=os.environ)
        self.workers.add(worker)
        self.idle.append(worker)

    def workerEnded(self, worker):
        self.workers.discard(worker)
        if worker in self.idle:
            self.idle.remove(worker)
        if self.running:
            self.log.warn('Worker process {pid} ended; starting another',
                          pid=worker.pid)
            self._spawn()

    def run(self, row, task):
        worker = self.idle.pop()
        d = worker.run(row, getattr(task, 'timeout', None))

        def done(outcome):
            if worker in self.workers and self.running:
                self.idle.append(worker)
            return outcome
        return d.addCallback(done)

    def stopJob(self, jobid, reason):
        """Kill the worker running ``jobid``, if one here is."""
        for worker in self.workers:
            if worker.jobid == jobid:
                worker.stop(reason)

    def kill(self):
        """Stop every worker now; their jobs end with 'server stopping'."""
        for worker in list(self.workers):
            worker.stop(STOPPED)

    def startService(self):
        super().startService()
        for _ in range(self.size):
            self._spawn()

    def stopService(self):
        super().stopService()
        ended = [worker.ended for worker in self.workers]
        for worker in list(self.workers):
            if worker.job is None:
                worker.transport.closeStdin()
            else:
                worker.stop(STOPPED)
        return defer.DeferredList(ended)
