"""Running jobs: claiming due runs and recording how they ended.

The legacy loop (``processNext``, ``process``) claims one run and runs it
in the calling thread; the daemon claims many at a time, starts them in
its workers, and records their starts and ends in batches (``recordRuns``)
inside the transactions of its store writer. Ends are told through
``Listeners`` once committed.
"""

import json
import random
import secrets

from remotetask.core import codec, events, job as jobs, misfire, progress
from remotetask.core import runner
from remotetask.core.codec import storableText
from remotetask.core.longwrites import mayTakeLong
from remotetask.core.status import (
    COMPLETED, CRONJOB, ERROR, FINISHED, PROCESSING, QUEUED)
from remotetask.core.task import option
from remotetask.errors import NoSuchTask


class JobRunning:
    """Claim, run and record the runs of the tasks ``routing`` serves on
    ``store``, now from ``clock``; ``settings``' ``timezone`` and
    ``progressInterval`` are read at each use. ``host`` is what a task
    running here is given as its service (the legacy ``TaskService``)."""

    def __init__(self, store, routing, listeners, settings, clock, host):
        self.store = store
        self.routing = routing
        self.registry = routing.registry
        self.listeners = listeners
        self.settings = settings
        self.clock = clock
        self.host = host

    def _nextDue(self, row, now):
        job = jobs.fromRow(row, timezone=self.settings.timezone)
        return job.timeOfNextCall(now)

    def _option(self, taskName, name):
        try:
            return option(self.registry.lookup(taskName), name)
        except NoSuchTask:
            return option(None, name)

    def _maxAttempts(self, row):
        """How many times the job of ``row`` may start: its own number,
        else its task's."""
        if row['maxattempts'] is not None:
            return row['maxattempts']
        return self._option(row['task'], 'maxAttempts')

    def claim(self, limit, now=None, started=None, scheduled=True,
              token=None):
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
        handed out again. Only jobs of the tasks this service runs are
        claimed, within their limits (``taskLimits``). ``token`` names the
        claim (a fresh one by default), so that a caller who cannot tell
        whether it committed can give it up (``releaseClaims``).
        """
        now = self.clock.seconds() if now is None else now
        if scheduled:
            self.store.scheduleFirstRuns(now, self._nextDue)
        tasks = sorted(self.routing.getAvailableTasks())
        limits = self.routing.taskLimits()
        event = None if started is None else events.make(
            events.STARTED, started, self.routing.serverName)
        # secrets: a tenth of uuid4's cost, asked for by every claim.
        token = token or secrets.token_hex(16)
        claimed, allowed = [], {}
        while len(claimed) < limit:
            asked = limit - len(claimed)
            rows = self.store.claim(now, asked, token,
                                    self._nextDue, started, scheduled,
                                    tasks=tasks, limits=limits,
                                    event=event)
            claimed += [row for row in rows if not self._lostTooOften(
                row, started is not None, allowed)]
            if len(rows) < asked:
                break
        return claimed

    def _lostTooOften(self, row, counted, tasksAllow):
        """End ``row`` in error if it has no attempt left: it was lost
        (a crash, a kill) on its last one. ``counted``: the claim already
        counted the attempt about to begin. ``tasksAllow``: the attempts
        each task allows, as far as this claim has looked them up (a
        claim of hundreds of jobs of one task looks it up once)."""
        if row['status'] != PROCESSING:
            return False
        allowed = row['maxattempts']
        if allowed is None:
            allowed = tasksAllow.get(row['task'])
            if allowed is None:
                allowed = tasksAllow[row['task']] = self._maxAttempts(row)
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
        rows = self.claim(1, now, started=self.clock.seconds())
        return rows[0] if rows else None

    def markStarted(self, runs):
        """Record that the claimed runs ``[(jobid, token)]`` began now."""
        return self.store.markStarted(list(runs),
                                      *self._startOf(self.clock.seconds()))

    def _startOf(self, now):
        """``(now, event)``: how a start at ``now`` is recorded."""
        return now, events.make(events.STARTED, now,
                                self.routing.serverName)

    # Recording

    def finishRun(self, row, outcome, report=None):
        """Record ``outcome`` for the run claimed as ``row``: a failure
        that may be retried, within the task's attempts, sends the job back
        to the queue for later (exponential backoff with jitter). Returns
        the status recorded, or None if the claim was lost meanwhile (the
        job was cancelled or taken back) and nothing was written.
        ``report`` is the run's last progress report, if one is pending.
        The run is counted in this minute's counters."""
        with self.store.transaction():
            status, = self._finishRuns([(row, outcome, report, None)])
            if status is not None:
                self._countRuns([outcome])
        return status

    def _countRuns(self, outcomes):
        finished = sum(1 for outcome in outcomes if outcome.ok)
        if outcomes:
            self.store.countRuns(int(self.clock.seconds() // 60),
                                 self.routing.serverName,
                                 finished, len(outcomes) - finished)

    def _finishRuns(self, ends):
        """Record the ``[(row, outcome, report, start)]`` that ended, in
        one store call (``finishMany``: one round trip for the lot where
        the store can); ``start``, ``(time, event)`` or None, is a start
        not recorded yet. The statuses recorded, in order, None where the
        claim had been lost."""
        now, made = self.clock.seconds(), {}
        planned = [self._endOf(row, outcome, report, now, made) + (start,)
                   for row, outcome, report, start in ends]
        recorded = self.store.finishMany([
            run if start is None else run + start
            for run, _, start in planned])
        statuses, finished = [], []
        for (row, *_), (_, status, _), done in zip(ends, planned, recorded):
            if not done:
                statuses.append(None)
                continue
            if status in FINISHED:
                finished.append((row['id'], status))
            statuses.append(CRONJOB if status is None else status)
        self.listeners.endedMany(finished)
        return statuses

    def _endOf(self, row, outcome, report, now, made):
        """``(run, status)``: the arguments of ``IJobStore.finish`` that
        record ``outcome`` for ``row``, and the status they write (None: a
        cron job keeps its own). ``made``: the events of successful ends
        made for this batch, by attempt (the same text for every run that
        ended so on the same attempt: most of a batch's)."""
        due = attempt = None
        # Most runs succeed, with no error or traceback to make storable.
        error = None if outcome.error is None else \
            storableText(outcome.error)
        if row['status'] == CRONJOB:
            status = None
        elif outcome.ok:
            status = COMPLETED
        elif outcome.retry and row['attempts'] < self._maxAttempts(row):
            status, due = QUEUED, now + self._backoff(row)
        else:
            status = ERROR
        if not outcome.ok:
            attempt = json.dumps(dict(
                attempt=row['attempts'], error=error,
                started=row['started'], completed=now))
        if status == QUEUED:
            event = events.make(events.RETRIED, now, self.routing.serverName,
                                attempt=row['attempts'], why=error,
                                retryIn=round(due - now, 3))
        elif outcome.ok and error is None:
            event = made.get(row['attempts'])
            if event is None:
                event = made[row['attempts']] = events.make(
                    events.ENDED, now, self.routing.serverName,
                    attempt=row['attempts'], status=str(COMPLETED))
        else:
            event = events.make(
                events.ENDED, now, self.routing.serverName,
                attempt=row['attempts'],
                status=str(COMPLETED if outcome.ok else ERROR), error=error)
        run = (row['id'], row['token'], status, outcome.output, error,
               None if outcome.traceback is None else
               storableText(outcome.traceback), now, due, attempt, event,
               None if report is None else progress.encode(report))
        return run, status

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
        its attempt is given back too, and its events say so. Returns
        whether the claim was still current."""
        event = events.make(events.PUT_BACK, self.clock.seconds(),
                            self.routing.serverName,
                            why=events.SHUTDOWN) if started else None
        released = self.store.release(row['id'], row['token'], started,
                                      event=event)
        if released and row['status'] == PROCESSING:
            self.listeners.added()
        return released

    def releaseClaims(self, tokens):
        """Put back in the queue whatever the claims ``tokens`` took: claims
        whose commit was lost (``StoreOutcomeUnknown``), whose jobs would
        otherwise stay ``processing`` with no one to run them. Returns how
        many jobs went back."""
        released = self.store.releaseClaims(tokens)
        if released:
            self.listeners.added()
        return released

    def recordRuns(self, started=(), finished=(), putBack=(), reports=()):
        """In one transaction: the runs ``[(jobid, token)]`` that began,
        the latest progress ``[(row, report)]`` of runs (``progress.value``
        dicts), the ``[(row, outcome)]`` that ended, and the ``[(row,
        started)]`` given back. Returns the statuses recorded for
        ``finished``, in order (None where the claim had been lost). For a
        server that records its workers' news in batches; the runs that
        ended are counted in this minute's counters once per batch."""
        last = {row['id']: report for row, report in reports}
        ending = {row['id'] for row, _ in finished}
        # A short run's start goes in the statement of its end.
        starting = {tuple(run) for run in started} & {
            (row['id'], row['token']) for row, _ in finished}
        start = self._startOf(self.clock.seconds()) if starting else None
        with self.store.transaction():
            alone = [run for run in started if tuple(run) not in starting]
            if alone:
                self.markStarted(alone)
            # A run's last report goes in the statement of its end.
            running = [(row['id'], row['token'], progress.encode(report))
                       for row, report in reports if row['id'] not in ending]
            if running:
                self.store.setProgress(running)
            statuses = self._finishRuns([
                (row, outcome, last.get(row['id']),
                 start if (row['id'], row['token']) in starting else None)
                for row, outcome in finished])
            self._countRuns([outcome for (_, outcome), status in
                             zip(finished, statuses) if status is not None])
            for row, begun in putBack:
                self.putBack(row, begun)
        return statuses

    # Running here (the legacy loop and the thread pool)

    def runClaimed(self, row, checkOutput=None):
        """Run a job claimed as started (``claimNext``) in this thread and
        record its outcome. A job whose task left the registry since it
        was claimed goes back to the queue (its attempt given back) for a
        server that has it; its outcome is then None. Its progress reports
        are written at most once per ``progressInterval``; one still
        waiting at the end is written with the end (a report is not
        written later than the next one, or the end, in this loop with no
        timer of its own)."""
        try:
            task = self.registry.lookup(row['task'])
        except NoSuchTask:
            self.putBack(row, started=True)
            return None
        throttle = progress.Throttle(
            lambda report: self.store.setProgress([(
                row['id'], row['token'], progress.encode(report))]),
            self.settings.progressInterval, wallClock=self.clock)
        outcome = runner.runTask(task, self.host, row['id'],
                                 codec.decode(row['input']), checkOutput,
                                 progress=throttle.report)
        self.finishRun(row, outcome, throttle.take())
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

    @mayTakeLong
    def recoverAbandoned(self, before=None):
        """Put jobs left ``processing`` by an earlier run of this server
        (a crash, a kill -9) back in the queue; return how many.
        ``before`` (epoch seconds): only those claimed before then, for a
        server that may have claimed jobs of its own meanwhile (its
        recovery is tried again until the store takes it)."""
        moved = self.store.requeue([PROCESSING], QUEUED, events.make(
            events.PUT_BACK, self.clock.seconds(), self.routing.serverName,
            why=events.CRASH), before=before)
        if moved:
            self.listeners.added()
        return moved

    @mayTakeLong
    def handleMisfires(self, now=None, grace=60.0, limit=100000):
        """Apply the cron jobs' misfire policies; see
        ``remotetask.core.misfire``. Returns how many jobs were moved."""
        return misfire.handleMisfires(
            self.store, self.settings.timezone,
            self.clock.seconds() if now is None else now, grace, limit)

    @mayTakeLong
    def sampleQueue(self, now=None):
        """Record the queue's depth now in this minute's counters."""
        now = self.clock.seconds() if now is None else now
        self.store.sampleQueue(int(now // 60), self.routing.serverName)
