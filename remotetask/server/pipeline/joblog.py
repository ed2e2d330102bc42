"""The per-job log line (``--log-jobs``): formatted once, written per batch.

A log event costs the logger's observers far more than the line's text
(a timestamp formatted, the event turned into text, a write): measured,
as much as a whole bare XML-RPC call per job. So each ended run's line is
formatted once, as it ends, and the lines are written together, as one
event (one line each, in order), at most once per ``interval`` seconds,
and when the server stops.
"""

from twisted.logger import Logger


class JobLog:
    """``ended(run, status)`` for each recorded end; which runs get a line
    is ``logJobs``: 'all', 'failed' or 'none'."""

    log = Logger()

    def __init__(self, logJobs, clock, interval=0.2):
        self.logJobs = logJobs
        self.clock = clock
        self.interval = interval
        self._lines = []
        self._due = None

    def ended(self, run, status):
        outcome = run.outcome
        if self.logJobs == 'none' or (self.logJobs == 'failed'
                                      and outcome.ok):
            return
        then = ' (will be retried)' if status == 'queued' else ''
        result = 'ok' if outcome.ok else outcome.error
        self._lines.append(f'Job {run.id} ({run.row["task"]}) ended in '
                           f'{run.seconds:.3f} s: {result}{then}')
        if self._due is None:
            self._due = self.clock.callLater(self.interval, self.flush)

    def flush(self):
        """Write the lines waiting, as one event."""
        if self._due is not None and self._due.active():
            self._due.cancel()
        self._due = None
        if self._lines:
            lines, self._lines = self._lines, []
            self.log.info('{lines}', lines='\n'.join(lines),
                          count=len(lines))
