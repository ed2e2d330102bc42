"""Running jobs: claiming due runs, recording how they ended, and telling
listeners about it.

A mixin of ``TaskService``, which provides ``store``, ``registry`` and
``timezone``. The legacy loop (``processNext``, ``process``) claims one run
and runs it in the calling thread; the daemon claims many at a time,
starts them in its workers, and records their starts and ends in batches
(``recordRuns``) inside the transactions of its store writer.

Listeners hear about changes only once they are committed
(``IJobStore.afterCommit``), so whoever they wake can read what they were
told about.
"""

import json
import random
import time
import uuid

from remotetask.core import codec, job as jobs, misfire, runner
from remotetask.core.codec import storableText  # noqa: F401  (kept here too)
from remotetask.core.status import (
    COMPLETED, CRONJOB, ERROR, FINISHED, PROCESSING, QUEUED)
from remotetask.core.task import option
from remotetask.errors import NoSuchTask


class JobRunning:
    """Claim, run and record runs; see the module docstring."""

    def _initListeners(self):
        self._addListeners = []
        self._endListeners = []

    # Listening

    def onAdd(self, callback):
        """Call ``callback()`` after every committed change that may have
        made a job claimable (an add, a start, a retry), e.g. to wake a
        dispatcher. It is called in the thread that made the change."""
        self._addListeners.append(callback)

    def onEnd(self, callback):
        """Call ``callback(jobid, status)`` after a job's end is committed:
        completed, error or cancelled (a running job too). It is called in
        the thread that made the change."""
        self._endListeners.append(callback)

    def _added(self):
        self.store.afterCommit(self._tellAdded)

    def _tellAdded(self):
        for callback in self._addListeners:
            callback()

    def _ended(self, jobid, status):
        self.store.afterCommit(lambda: self._tellEnded(jobid, status))

    def _tellEnded(self, jobid, status):
        for callback in self._endListeners:
            callback(jobid, status)

    # Claiming

    def _nextDue(self, row, now):
        return jobs.fromRow(row, timezone=self.timezone).timeOfNextCall(now)

    def _option(self, taskName, name):
        try:
            return option(self.registry.lookup(taskName), name)
        except NoSuchTask:
            return option(None, name)

    def claim(self, limit, now=None, started=None, scheduled=True):
        """Claim up to ``limit`` due runs for this caller; return their
        rows, in the order they should run.

        Each must be ended with ``finishRun`` or given back with
        ``putBack``. ``started`` (epoch seconds) counts their attempts at
        once, for a caller that starts them now; otherwise the caller says
        when each starts with ``markStarted``. With ``scheduled`` (the
        default), cron and delayed jobs are looked at too, and get their
        first due time from the first claim that sees them, as in the
        original. A job that was lost with its worker or server after it
        had used all its attempts ends in error here instead of being
        handed out again.
        """
        now = time.time() if now is None else now
        if scheduled:
            self.store.scheduleFirstRuns(now, self._nextDue)
        claimed = []
        while len(claimed) < limit:
            asked = limit - len(claimed)
            rows = self.store.claim(now, asked, uuid.uuid4().hex,
                                    self._nextDue, started, scheduled)
            claimed += [row for row in rows if not self._lostTooOften(
                row, counted=started is not None)]
            if len(rows) < asked:
                break
        return claimed

    def _lostTooOften(self, row, counted):
        """End ``row`` in error if it has no attempt left: it was lost
        (a crash, a kill) on its last one. ``counted``: the claim already
        counted the attempt about to begin."""
        if row['status'] != PROCESSING:
            return False
        allowed = self._option(row['task'], 'maxAttempts')
        used = row['attempts'] - (1 if counted else 0)
        if used < allowed:
            return False
        self.finishRun(row, runner.Outcome.failed(
            f'The job was lost with its worker or server (a crash or '
            f'kill) while it ran, and it has had all of its {allowed} '
            f'attempts (maxAttempts); it is not run again.'))
        return True

    def claimNext(self, now=None):
        """Claim one due run, started now; its row or None."""
        rows = self.claim(1, now, started=time.time())
        return rows[0] if rows else None

    def markStarted(self, runs):
        """Record that the claimed runs ``[(jobid, token)]`` began now."""
        return self.store.markStarted(list(runs), time.time())

    # Recording

    def finishRun(self, row, outcome):
        """Record ``outcome`` for the run claimed as ``row``: a failure
        that may be retried, within the task's attempts, sends the job back
        to the queue for later (exponential backoff with jitter). Returns
        the status recorded, or None if the claim was lost meanwhile (the
        job was cancelled or taken back) and nothing was written."""
        now = time.time()
        due = attempt = None
        error = storableText(outcome.error)
        if row['status'] == CRONJOB:
            status = None
        elif outcome.ok:
            status = COMPLETED
        elif outcome.retry and row['attempts'] < self._option(
                row['task'], 'maxAttempts'):
            status, due = QUEUED, now + self._backoff(row)
        else:
            status = ERROR
        if not outcome.ok:
            attempt = json.dumps(dict(
                attempt=row['attempts'], error=error,
                started=row['started'], completed=now))
        recorded = self.store.finish(
            row['id'], row['token'], status, outcome.output, error,
            storableText(outcome.traceback), now, due=due, attempt=attempt)
        if not recorded:
            return None
        if status in FINISHED:
            self._ended(row['id'], status)
        return CRONJOB if status is None else status

    def _backoff(self, row):
        """Seconds before the next attempt: doubling from the task's
        ``backoff`` up to ``maxBackoff``, with jitter so that jobs that
        failed together do not all come back at once."""
        base = self._option(row['task'], 'backoff')
        cap = self._option(row['task'], 'maxBackoff')
        delay = min(cap, base * 2 ** (row['attempts'] - 1))
        return delay * random.uniform(0.5, 1.0)

    def putBack(self, row, started):
        """Give the claimed run ``row`` back to the queue without running
        it to its end (the server stops). ``started``: it had begun, and
        its attempt is given back too. Returns whether the claim was
        still current."""
        released = self.store.release(row['id'], row['token'], started)
        if released and row['status'] == PROCESSING:
            self._added()
        return released

    def recordRuns(self, started=(), finished=(), putBack=()):
        """In one transaction: the runs ``[(jobid, token)]`` that began,
        the ``[(row, outcome)]`` that ended, and the ``[(row, started)]``
        given back. Returns the statuses recorded for ``finished``, in
        order (None where the claim had been lost). For a server that
        records its workers' news in batches."""
        with self.store.transaction():
            if started:
                self.markStarted(started)
            statuses = [self.finishRun(row, outcome)
                        for row, outcome in finished]
            for row, begun in putBack:
                self.putBack(row, begun)
        return statuses

    # Running here (the legacy loop and the thread pool)

    def runClaimed(self, row, checkOutput=None):
        """Run a claimed job in this thread and record its outcome."""
        try:
            task = self.registry.lookup(row['task'])
        except NoSuchTask as error:
            outcome = runner.Outcome.failed(str(error))
        else:
            outcome = runner.runTask(task, self, row['id'],
                                     codec.decode(row['input']), checkOutput)
        self.finishRun(row, outcome)
        return outcome

    def processNext(self, now=None):
        row = self.claimNext(now)
        if row is None:
            return False
        self.runClaimed(row)
        return True

    def process(self, now=None):
        while self.processNext(now):
            pass

    def recoverAbandoned(self):
        """Put jobs left ``processing`` by an earlier run of this server
        (a crash, a kill -9) back in the queue; return how many."""
        moved = self.store.requeue([PROCESSING], QUEUED)
        if moved:
            self._added()
        return moved

    def handleMisfires(self, now=None, grace=60.0, limit=100000):
        """Apply the cron jobs' misfire policies; see
        ``remotetask.core.misfire``. Returns how many jobs were moved."""
        return misfire.handleMisfires(self.store, self.timezone,
                                      time.time() if now is None else now,
                                      grace, limit)

    def statuses(self, jobids):
        """``{jobid: status}`` of those of ``jobids`` that exist, in one
        read: for a server watching many jobs at once."""
        return self.store.statuses(list(jobids))
