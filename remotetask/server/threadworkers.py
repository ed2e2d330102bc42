"""Jobs in threads of the server: the pool for tasks registered only in
Python (``--pool thread``).

The same face as the process pool for the dispatcher (``capacity``,
``submit``, a ``handler`` told of starts and ends), without its powers:
a thread cannot be stopped from outside, so timeouts are not enforced,
and a cancelled job runs on unless its task polls
``service.isCancelled(jobid)`` (its end is then not recorded). The job's
input is decoded and its result encoded and checked in the thread, never
on the reactor thread.
"""

from remotetask.core import codec
from remotetask.core.runner import Outcome, runTask
from remotetask.server.threadpool import ThreadPoolService
from remotetask.wire.marshal import checkWireValue


def _run(task, service, row):
    return runTask(task, service, row['id'], codec.decode(row['input']),
                   checkWireValue)


class ThreadWorkerPool(ThreadPoolService):
    """Run jobs in ``size`` threads of this process."""

    queuesAhead = False
    depth = 1

    def __init__(self, service, size, handler=None, reactor=None):
        super().__init__('remotetask-workers', size, reactor)
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

    def submit(self, row, task):
        self.jobs[row['id']] = row
        started = self.reactor.seconds()
        self.handler.jobStarted(row)
        d = self.call(_run, task, self.service, row)

        def ended(result):
            del self.jobs[row['id']]
            outcome = result if isinstance(result, Outcome) else \
                Outcome.failed(f'The worker failed: {result.value!r}')
            self.handler.jobEnded(row, outcome,
                                  self.reactor.seconds() - started)
            self.handler.workerFree()
        d.addBoth(ended)

    def stopJob(self, jobid, reason):
        """Threads cannot be stopped; a task that runs long polls
        ``service.isCancelled(jobid)`` instead."""

    def recallWaiting(self):
        """Nothing waits here: a job is submitted only to a free thread."""

    def kill(self):
        """Threads cannot be killed; their jobs finish on their own."""
