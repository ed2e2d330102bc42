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
per ``progressInterval`` seconds), ``jobEnded(run, outcome, seconds,
report)`` (``report``: the run's last progress report, carried by its
end, or None),
``jobReturned(run)`` for a job given back without having started, and
``workerFree()`` once per read of a worker's pipe that freed room. The
runs are the in-flight table's (``inflight.Run``); a worker keeps those it
has, not copies. Jobs go to a worker several to a message; a job's end
comes back with the next job's start (``workerprotocol``).
"""

import json
import os
import sys

from twisted.application.service import Service
from twisted.internet import defer
from twisted.logger import Logger

from remotetask.server.pipeline.inflight import STOPPED
from remotetask.server.workers.processworker import Worker
from remotetask.server.workers.workerprotocol import MAX_FRAME


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
        # Each run to the least loaded worker with room (the first of
        # equals), its load counting what this submit gave it: one lookup
        # in C per worker and run, as a claim's hundreds of runs go out.
        load = {worker: len(worker.runs) for worker in self.workers}
        roomy = [worker for worker in self.workers if room[worker] > 0]
        batches = {}
        for run in runs:
            worker = min(roomy or [w for w in self.workers
                                  if w.stopReason is None],
                         key=load.__getitem__)
            load[worker] += 1
            room[worker] -= 1
            if room[worker] == 0:
                roomy.remove(worker)
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
