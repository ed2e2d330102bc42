"""Recording what the workers did: starts, progress, ends and put-backs,
in batches.

Every start of a run must be recorded (it counts an attempt) and every
end (it is the job's result). What a run owes the store is kept on its
entry in the in-flight table (``inflight.Run``); the recorder keeps one
list, the runs that owe something, and one write
(``service.running.recordRuns``)
takes them all whenever none is in flight, so under load a batch holds
many runs and costs one transaction. A start alone waits up to
``startDelay`` seconds for company: a short job's start then goes in the
same write as its end. (A server killed in that window has not counted
the attempt; the job simply runs again.) The timer is armed by a start
when none is, and left to run out rather than cancelled by the end that
took the start along: a short job's start and end then cost no timer of
their own, and the timer, under load one per ``startDelay`` rather than
one per job, finds nothing to write or the starts that came since.

Progress reports are not owed like that: only a job's latest counts, and
it is written at most once per ``progressInterval`` seconds per job (a
report that came sooner waits, replaced by any later one, for its time
or for the job's end, which always takes the job's last report with it).

The outcome of a run exists only here until it is written: when the store
is unavailable (a full disk, the database restarting), it is kept and the
write tried again, waiting longer each time, until the store takes it,
unless the server stops, which leaves the job to start-up recovery. Any
other failure of a batch (a bug, a value the store refuses) has each of
its runs written alone, so that one run cannot hold the others; a run
whose end still cannot be written ends in error saying so, and if even
that fails it is given up here (logged; the job is left to recovery), so
that no run stays in flight, and no stop waits for it, for ever.
"""

from twisted.internet import defer
from twisted.logger import Logger

from remotetask.core.runner import Outcome
from remotetask.errors import StoreUnavailable
from remotetask.server.pipeline.inflight import ENDED, LEAVING

#: The start of the error of a run whose end the store would not take.
UNRECORDABLE = 'The end of this run could not be recorded'


def _cancelled(timer):
    """None, once ``timer`` (a pending call, or None) is cancelled."""
    if timer is not None:
        timer.cancel()
    return None


def _leaving(run):
    return run.phase in (ENDED, LEAVING)


class Recorder:
    """Writes runs' news through ``write``; calls ``recorded(run,
    status)`` in the reactor thread once a run's end or put-back is
    written (``status``: the status its end recorded; None for a
    put-back, a run given up, or an end whose claim had been lost, the
    job cancelled or taken back, where nothing was written)."""

    log = Logger()

    def __init__(self, service, write, recorded, clock,
                 retryDelays=(0.5, 30.0), startDelay=0.05,
                 progressInterval=1.0):
        self.service = service
        self.write = write
        self.recorded = recorded
        self.clock = clock
        self.retryDelays = retryDelays
        self.startDelay = startDelay
        self.progressInterval = progressInterval
        self.stopping = False
        #: The runs that owe the store something (jobid -> Run), and
        #: those to be written one at a time after a batch failed.
        self._owing, self._alone = {}, []
        self._startsDue = self._reportTimer = None
        self._writing = self._retry = None
        self._delay = retryDelays[0]
        self._idle = []

    @property
    def pending(self):
        """How many runs a write would take now."""
        return len(self._alone) + len(self._batch())

    def _batch(self):
        """The runs to write now: news owed, and reports due (those whose
        interval has passed, and those of runs that end)."""
        now = self.clock.seconds()
        return [run for run in self._owing.values()
                if run.startOwed or _leaving(run) or (
                    run.report is not None
                    and now - run.reportedAt >= self.progressInterval)]

    def started(self, run):
        run.startOwed = True
        self._owing[run.id] = run
        if self.stopping:
            self._flush()
        elif self._startsDue is None:
            self._startsDue = self.clock.callLater(self.startDelay,
                                                   self._startsWait)

    def _startsWait(self):
        self._startsDue = None
        self._flush()

    def ended(self, run, outcome, seconds):
        run.phase, run.outcome, run.seconds = ENDED, outcome, seconds
        self._owing[run.id] = run
        self._flush()

    def putBack(self, run, started):
        """Give the run back to the queue (the server stops, or its task
        left this server)."""
        run.phase, run.putBackStarted = LEAVING, started
        self._owing[run.id] = run
        self._flush()

    def progress(self, run, report, write=True):
        """The latest progress ``report`` of ``run``; ``write`` False: it
        waits for the run's next news (its end, told next)."""
        run.report = report
        self._owing[run.id] = run
        if write:
            self._flush()

    def _flush(self):
        if self._writing is not None or self._retry is not None:
            return
        if not (self._owing or self._alone):
            # Nothing owed (most writes' ends, one job at a time): no
            # batch to gather, no report to wait for.
            self._tellIdle()
            return
        batch = [self._alone.pop(0)] if self._alone else self._batch()
        if not batch:
            self._waitForReports()
            self._tellIdle()
            return
        now = self.clock.seconds()
        started, ended, putBack, reports, leaving = [], [], [], [], []
        for run in batch:
            if run.startOwed:
                started.append((run.id, run.row['token']))
            if run.phase == ENDED:
                ended.append((run.row, run.outcome))
            elif run.phase == LEAVING:
                putBack.append((run.row, run.putBackStarted))
            if _leaving(run):
                leaving.append(run)
            if run.report is not None:
                reports.append((run.row, run.report))
                run.reportedAt = now
            self._forgetNews(run)
        self._writing = self.write(self.service.running.recordRuns, started,
                                   ended, putBack, reports)
        self._writing.addCallbacks(self._written, self._failed, (leaving,),
                                   None, (batch, started, reports))

    def _forgetNews(self, run):
        run.startOwed, run.report = False, None
        self._owing.pop(run.id, None)

    def _owe(self, run, start, report):
        """Owe again what a failed write carried (a report that came
        meanwhile is newer than the one that failed)."""
        run.startOwed |= start
        if run.report is None:
            run.report = report
        run.reportedAt = float('-inf')
        self._owing[run.id] = run

    def _waitForReports(self):
        """Have the next report that waits for its interval written when
        its time comes (one timer at a time)."""
        waiting = [run.reportedAt for run in self._owing.values()
                   if run.report is not None]
        if not waiting or self._reportTimer is not None:
            return
        delay = min(waiting) + self.progressInterval - self.clock.seconds()
        self._reportTimer = self.clock.callLater(max(0.0, delay),
                                                 self._reportsDue)

    def _reportsDue(self):
        self._reportTimer = None
        self._flush()

    def _written(self, statuses, leaving):
        """``leaving``: the runs whose end or put-back the write took."""
        self._writing = None
        self._delay = self.retryDelays[0]
        ended = iter(statuses)
        for run in leaving:
            self.recorded(run, next(ended) if run.phase == ENDED else None)
        self._flush()

    def _failed(self, failure, batch, started, reports):
        self._writing = None
        starts = {jobid for jobid, _ in started}
        owed = {row['id']: report for row, report in reports}
        if not failure.check(StoreUnavailable):
            self._writeAlone(failure, batch, starts, owed)
        elif self.stopping:
            self.log.warn('The store is unavailable while stopping; '
                          '{count} run(s) are left to the next start-up: '
                          '{error}', count=sum(map(_leaving, batch)),
                          error=failure.getErrorMessage())
        else:
            for run in batch:
                self._owe(run, run.id in starts, owed.get(run.id))
            self.log.warn('{count} run(s) ended but cannot be recorded yet '
                          '({error}); trying again in {delay:g} s',
                          count=sum(map(_leaving, batch)),
                          error=failure.getErrorMessage(), delay=self._delay)
            self._retry = self.clock.callLater(self._delay, self._retryNow)
            self._delay = min(self._delay * 2, self.retryDelays[1])
        self._flush()

    def _writeAlone(self, failure, batch, starts, owed):
        """A write that failed for another reason than an outage: each run
        of a batch is tried alone; a run that fails alone has its end
        turned into an error saying why, once, then is given up."""
        if len(batch) > 1:
            self.log.failure('Recording {count} run(s) failed; writing '
                             'each alone', failure, count=len(batch))
            for run in batch:
                self._owe(run, run.id in starts, owed.get(run.id))
                self._owing.pop(run.id)
            self._alone.extend(batch)
            return
        run, = batch
        if run.phase == ENDED and not (run.outcome.error or '').startswith(
                UNRECORDABLE):
            self.log.failure('Recording the end of job {id} failed; it ends '
                             'in error instead', failure, id=run.id)
            run.outcome = Outcome.failed(
                f'{UNRECORDABLE}: {failure.getErrorMessage()}')
            self._owe(run, run.id in starts, None)
            self._owing.pop(run.id)
            self._alone.append(run)
            return
        self.log.failure('Recording job {id} failed; it is left to the '
                         'next start-up', failure, id=run.id)
        if _leaving(run):
            self.recorded(run, None)

    def _retryNow(self):
        self._retry = None
        self._flush()

    def idle(self):
        """A Deferred that fires when nothing is pending or being written
        (or, while stopping, when the store refused what was). Reports
        waiting for their interval are not news that must be written: the
        runs they belong to end or are put back with their last one."""
        if self.stopping:
            # Starts owed are written now (``started`` while stopping).
            self._reportTimer = _cancelled(self._reportTimer)
            self._startsDue = _cancelled(self._startsDue)
        if self._writing is None and not self.pending:
            return defer.succeed(None)
        if self.stopping and self._retry is not None:
            self._retry.cancel()
            self._retry = None
        self._flush()
        waiter = defer.Deferred()
        self._idle.append(waiter)
        return waiter

    def _tellIdle(self):
        waiters, self._idle = self._idle, []
        for waiter in waiters:
            waiter.callback(None)
