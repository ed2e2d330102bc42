"""Jobs in threads of the server: the pool for tasks registered only in
Python (``--pool thread``).

The same face as the process pool for the dispatcher (``capacity``,
``submit``, a ``handler`` told of starts and ends), without its powers:
a thread cannot be stopped from outside, so timeouts are not enforced,
and a cancelled job runs on unless its task polls
``service.isCancelled(jobid)`` (its end is then not recorded). The job's
input is decoded and its result encoded and checked in the thread, never
on the reactor thread. A task's progress reports reach the handler
(``jobProgress``) through the relay, the latest of a burst only.
"""

import threading
import time

from remotetask.core import codec, progress
from remotetask.core.runner import Outcome, runTask
from remotetask.server.pipeline.inflight import RUNNING
from remotetask.server.pipeline.relay import ThreadRelay
from remotetask.server.workers.threadpool import ThreadPoolService
from remotetask.wire.carried import checkWireValue


def _run(task, service, row, reporter):
    return runTask(task, service, row['id'], codec.decode(row['input']),
                   checkWireValue, progress=reporter)


class ProgressRelay:
    """A run's reporter: hands the latest report to ``deliver`` in the
    reactor thread, one relayed call for a burst of reports (so a task
    reporting in a loop costs the reactor one call per wake-up, not one
    per report). Its last report is relayed before the run's end, which
    reaches the reactor after it."""

    def __init__(self, relay, deliver):
        self.relay = relay
        self.deliver = deliver
        self._lock = threading.Lock()
        self._latest = None

    def __call__(self, fraction, message):
        report = progress.value(fraction, message, time.time())
        with self._lock:
            first, self._latest = self._latest is None, report
        if first:
            self.relay(self._deliverLatest)

    def _deliverLatest(self):
        with self._lock:
            report, self._latest = self._latest, None
        self.deliver(report)


class ThreadWorkerPool(ThreadPoolService):
    """Run jobs in ``size`` threads of this process."""

    queuesAhead = False
    depth = 1

    def __init__(self, service, size, handler=None, reactor=None,
                 relay=None):
        super().__init__('remotetask-workers', size, reactor)
        self.relay = relay or ThreadRelay(self.reactor)
        self.service = service
        self.size = size
        self.handler = handler
        self.running = False
        self.jobs = {}

    @property
    def live(self):
        return self.size if self.running else 0

    @property
    def busy(self):
        return len(self.jobs)

    def capacity(self):
        return self.size - len(self.jobs) if self.running else 0

    def submit(self, runs):
        """Start each of ``runs`` (the in-flight table's) in a thread."""
        for run in runs:
            self._start(run)

    def _start(self, run):
        self.jobs[run.id] = run
        run.phase, run.worker = RUNNING, self
        run.startedAt = self.reactor.seconds()
        self.handler.jobStarted(run)
        reporter = ProgressRelay(
            self.relay, lambda report: self.handler.jobProgress(run, report))
        d = self.call(_run, run.task, self.service, run.row, reporter)

        def ended(result):
            del self.jobs[run.id]
            outcome = result if isinstance(result, Outcome) else \
                Outcome.failed(f'The worker failed: {result.value!r}')
            self.handler.jobEnded(run, outcome,
                                  self.reactor.seconds() - run.startedAt)
            self.handler.workerFree()
        d.addBoth(ended)

    def stopJob(self, run, reason):
        """Threads cannot be stopped; a task that runs long polls
        ``service.isCancelled(jobid)`` instead."""

    def recallWaiting(self):
        """Nothing waits here: a job is submitted only to a free thread."""

    def kill(self):
        """Threads cannot be killed; their jobs finish on their own."""
