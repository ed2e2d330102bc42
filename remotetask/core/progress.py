"""Progress reports: ``reportProgress(fraction, message=None)`` from a
running task.

Whatever runs a task (a worker process, a worker thread, the legacy
processing loop) sets a reporter around the run (``reporting``); a report
made outside a job, or from a thread the task started itself, goes
nowhere. A report is checked and cut where the task runs: the fraction is
a number, held within 0 to 1; the message is text of at most
``MAX_MESSAGE`` characters. Only the latest report of a job counts, and
the runners send reports at a bounded rate (``Throttle``), so that a task
reporting thousands of times a second costs the server no more than one
reporting a few times.
"""

import contextlib
import contextvars
import json
import math
import numbers
import threading
import time

from remotetask.core.codec import storableText

#: The longest progress message kept; longer ones are cut.
MAX_MESSAGE = 200

_reporter = contextvars.ContextVar('remotetask.progress', default=None)


def reportProgress(fraction, message=None):
    """Say how far the running job has come: ``fraction`` from 0 to 1
    (held within), ``message`` a short text or None. Outside a job, and
    from threads the task started, this does nothing. A fraction that is
    not a number (or is NaN) raises ``ValueError``: it is a bug in the
    task, better found at once."""
    reporter = _reporter.get()
    if reporter is not None:
        reporter(checkedFraction(fraction), checkedMessage(message))


def checkedFraction(fraction):
    if isinstance(fraction, bool) or not isinstance(fraction,
                                                    numbers.Real):
        raise ValueError(f'reportProgress() needs a fraction from 0 to 1, '
                         f'not {fraction!r:.40}.')
    fraction = float(fraction)
    if math.isnan(fraction):
        raise ValueError('reportProgress() needs a fraction from 0 to 1, '
                         'not NaN.')
    return min(1.0, max(0.0, fraction))


def checkedMessage(message):
    if message is None:
        return None
    text = storableText(str(message))
    if len(text) > MAX_MESSAGE:
        text = text[:MAX_MESSAGE - 1] + '…'
    return text


@contextlib.contextmanager
def reporting(reporter):
    """Send the reports of the code run inside to ``reporter(fraction,
    message)`` (None: nowhere)."""
    token = _reporter.set(reporter)
    try:
        yield
    finally:
        _reporter.reset(token)


def value(fraction, message, at):
    """A report as the store keeps it and callers read it."""
    report = dict(fraction=fraction, at=at)
    if message is not None:
        report['message'] = message
    return report


def encode(report):
    """A report (``value``) as the JSON text a store keeps."""
    return json.dumps(report, separators=(',', ':'), ensure_ascii=False)


def decode(text):
    """The stored report, or None."""
    return json.loads(text) if text else None


class Throttle:
    """The latest report of one run, let go at most once per ``interval``
    seconds: ``send(report)`` gets a report at once when the last one went
    at least ``interval`` ago (or, for the first, the run began that long
    ago), else it waits as ``pending`` (a later one replacing it) until
    ``due()`` or the run's end (``take()``). Thread-safe: the task reports
    in its thread, a sender may let pending reports go in another, waiting
    on ``lock`` (a ``Condition``, which may be shared), notified of each
    report that waits. ``clock`` is monotonic seconds."""

    def __init__(self, send, interval, clock=time.monotonic, lock=None):
        self.send = send
        self.interval = interval
        self.clock = clock
        self.lock = threading.Condition() if lock is None else lock
        self.pending = None
        self._last = clock()

    def __call__(self, fraction, message):
        report = value(fraction, message, time.time())
        with self.lock:
            self.pending = report
            if self.clock() - self._last >= self.interval:
                self._sendPending()
            else:
                self.lock.notify_all()

    def due(self):
        """Seconds until the pending report may go (0: now), or None when
        none is pending. Call with ``lock`` held."""
        if self.pending is None:
            return None
        return max(0.0, self._last + self.interval - self.clock())

    def sendDue(self):
        """Let the pending report go if its time has come. Call with
        ``lock`` held."""
        if self.due() == 0.0:
            self._sendPending()

    def _sendPending(self):
        report, self.pending = self.pending, None
        self._last = self.clock()
        self.send(report)

    def take(self):
        """The pending report (None if none), which no longer waits: the
        run has ended, and its last report goes with the end."""
        with self.lock:
            report, self.pending = self.pending, None
            return report
