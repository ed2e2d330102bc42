"""Recording what the workers did: starts, progress, ends and put-backs,
in batches.

Every start of a run must be recorded (it counts an attempt) and every
end (it is the job's result). Each goes into the pending lists; one write
(``service.recordRuns``) takes them all whenever none is in flight, so
under load a batch holds many runs and costs one transaction. A start
alone waits up to ``startDelay`` seconds for company: a short job's start
then goes in the same write as its end. (A server killed in that window
has not counted the attempt; the job simply runs again.)

Progress reports are not owed like that: only a job's latest counts, and
it is written at most once per ``progressInterval`` seconds per job (a
report that came sooner waits, replaced by any later one, for its time
or for the job's end, which always takes the job's last report with it).
So a task reporting many times a second costs a write of its progress
now and then, in a batch with whatever else is pending.

The outcome of a run exists only here until it is written: when the store
is unavailable (a full disk, the database restarting), it is kept and the
write tried again, waiting longer each time, until the store takes it,
unless the server stops, which leaves the job to start-up recovery.
"""

from twisted.internet import defer
from twisted.logger import Logger

from remotetask.errors import StoreUnavailable


class Recorder:
    """Writes runs' news through ``write``; calls ``recorded(row,
    outcome, status, seconds)`` in the reactor thread once an end is
    committed (``status`` None: the claim had been lost, the job was
    cancelled or taken back, and nothing was written)."""

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
        self._startsDue = None
        self._started, self._ended, self._putBack = [], [], []
        # jobid -> (row, report): the latest report not yet written;
        # jobid -> when the job's progress was last written.
        self._reports, self._reported = {}, {}
        self._reportTimer = None
        self._writing = None
        self._retry = None
        self._delay = retryDelays[0]
        self._idle = []

    @property
    def pending(self):
        """How many pieces of news a write would take now."""
        return (len(self._started) + len(self._ended) + len(self._putBack)
                + len(self._dueReports()))

    def _dueReports(self):
        """The ids of the reports to write now: those whose interval has
        passed, and those of jobs whose end or put-back is pending."""
        now = self.clock.seconds()
        ending = {row['id'] for row, _, _ in self._ended} | {
            row['id'] for row, _ in self._putBack}
        return [jobid for jobid in self._reports
                if jobid in ending or now - self._reported.get(
                    jobid, float('-inf')) >= self.progressInterval]

    def started(self, row):
        self._started.append((row['id'], row['token']))
        if self._startsDue is None and not self.stopping:
            self._startsDue = self.clock.callLater(self.startDelay,
                                                   self._startsWait)
        elif self.stopping:
            self._flush()

    def _startsWait(self):
        self._startsDue = None
        self._flush()

    def ended(self, row, outcome, seconds):
        self._ended.append((row, outcome, seconds))
        self._flush()

    def putBack(self, row, started):
        """Give the run back to the queue (the server stops)."""
        self._putBack.append((row, started))
        self._flush()

    def progress(self, row, report):
        """The latest progress ``report`` of the run ``row``."""
        self._reports[row['id']] = (row, report)
        self._flush()

    def _flush(self):
        if self._writing is not None or self._retry is not None:
            return
        due = self._dueReports()
        if not (self._started or self._ended or self._putBack or due):
            self._waitForReports()
            self._tellIdle()
            return
        if self._startsDue is not None:
            self._startsDue.cancel()
            self._startsDue = None
        started, self._started = self._started, []
        ended, self._ended = self._ended, []
        putBack, self._putBack = self._putBack, []
        now = self.clock.seconds()
        reports = []
        for jobid in due:
            reports.append(self._reports.pop(jobid))
            self._reported[jobid] = now
        for row, _, _ in ended:
            self._reported.pop(row['id'], None)
        for row, _ in putBack:
            self._reported.pop(row['id'], None)
        self._writing = self.write(
            self.service.recordRuns, started,
            [(row, outcome) for row, outcome, _ in ended], putBack, reports)
        self._writing.addCallbacks(self._written, self._failed,
                                   (ended,), None,
                                   (started, ended, putBack, reports))

    def _waitForReports(self):
        """Have the next report that waits for its interval written when
        its time comes (one timer at a time)."""
        if not self._reports or self._reportTimer is not None:
            return
        now = self.clock.seconds()
        delay = min(self._reported[jobid] + self.progressInterval - now
                    for jobid in self._reports)
        self._reportTimer = self.clock.callLater(max(0.0, delay),
                                                 self._reportsDue)

    def _reportsDue(self):
        self._reportTimer = None
        self._flush()

    def _written(self, statuses, ended):
        self._writing = None
        self._delay = self.retryDelays[0]
        for (row, outcome, seconds), status in zip(ended, statuses):
            self.recorded(row, outcome, status, seconds)
        self._flush()

    def _failed(self, failure, started, ended, putBack, reports):
        self._writing = None
        if not failure.check(StoreUnavailable):
            self.log.failure('Recording {count} run(s) failed; they are '
                             'left to recovery', failure,
                             count=len(started) + len(ended) + len(putBack))
            self._flush()
            return
        if self.stopping:
            self.log.warn('The store is unavailable while stopping; '
                          '{count} run(s) are left to the next start-up: '
                          '{error}', count=len(ended) + len(putBack),
                          error=failure.getErrorMessage())
            self._flush()
            return
        # Keep them, in front of whatever came meanwhile (a report that
        # came meanwhile is newer than the one that failed).
        self._started[:0], self._ended[:0], self._putBack[:0] = (
            started, ended, putBack)
        for row, report in reports:
            self._reports.setdefault(row['id'], (row, report))
            self._reported.pop(row['id'], None)
        self.log.warn('{count} run(s) ended but cannot be recorded yet '
                      '({error}); trying again in {delay:g} s',
                      count=len(ended), error=failure.getErrorMessage(),
                      delay=self._delay)
        self._retry = self.clock.callLater(self._delay, self._retryNow)
        self._delay = min(self._delay * 2, self.retryDelays[1])

    def _retryNow(self):
        self._retry = None
        self._flush()

    def idle(self):
        """A Deferred that fires when nothing is pending or being written
        (or, while stopping, when the store refused what was). Reports
        waiting for their interval are not news that must be written: the
        runs they belong to end or are put back with their last one."""
        if self.stopping and self._reportTimer is not None:
            self._reportTimer.cancel()
            self._reportTimer = None
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
