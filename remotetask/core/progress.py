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
import numbers
import threading
import time

from remotetask.core.clock import systemClock
from remotetask.core.codec import compactJSON, storableText

#: The longest progress message kept; longer ones are cut.
MAX_MESSAGE = 200

_reporter = contextvars.ContextVar('remotetask.progress', default=None)
#: The variable ``reporting`` sets, for a runner that sets it itself: a
#: ``with`` of a generator-based context manager costs a worker more per
#: job than the rest of running a no-op task (issue 18).
reporterVariable = _reporter


class Latest:
    """A reporter that keeps the latest report, ``(fraction, message,
    at)``, in ``latest`` (None before the first), for a runner whose own
    sender looks at it (a ``Throttle`` that is not eager). A report made to
    it through ``reportProgress`` is stored without a call: a task that
    reports in a loop pays one assignment a report (issue 13's progress
    row: with a call per report, its job cost a worker 1.3x the
    instructions)."""

    __slots__ = ('latest',)

    def __init__(self):
        self.latest = None

    def __call__(self, fraction, message):
        self.latest = (fraction, message, _now())


_now = systemClock.seconds


def reportProgress(fraction, message=None):
    """Say how far the running job has come: ``fraction`` from 0 to 1
    (held within), ``message`` a short text or None. Outside a job, and
    from threads the task started, this does nothing. A fraction that is
    not a number (or is NaN) raises ``ValueError``: it is a bug in the
    task, better found at once. Cheap enough to call in a loop: a report
    is a check and an assignment; sending is done elsewhere, at a bounded
    rate."""
    reporter = _reporter.get()
    if reporter is None:
        return
    if type(fraction) is not float or not 0.0 <= fraction <= 1.0:
        fraction = checkedFraction(fraction)  # NaN too: never within
    if message is not None:
        message = checkedMessage(message)
    if type(reporter) is Latest:
        reporter.latest = (fraction, message, _now())
    else:
        reporter(fraction, message)


def checkedFraction(fraction):
    kind = type(fraction)
    if kind is not float and kind is not int:
        if isinstance(fraction, bool) or not isinstance(fraction,
                                                        numbers.Real):
            raise ValueError(f'reportProgress() needs a fraction from 0 to '
                             f'1, not {fraction!r:.40}.')
        fraction = float(fraction)
    if fraction != fraction:
        raise ValueError('reportProgress() needs a fraction from 0 to 1, '
                         'not NaN.')
    return 0.0 if fraction < 0 else 1.0 if fraction > 1 else float(fraction)


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


_encode = compactJSON(ensureAscii=False)


def encode(report):
    """A report (``value``) as the JSON text a store keeps."""
    return _encode(report)


def decode(text):
    """The stored report, or None."""
    return json.loads(text) if text else None


class Throttle:
    """The latest report of one run, let go at most once per ``interval``
    seconds (counted from the run's start for the first).

    A report (``report``, the reporter to run the task with, in its
    thread) only replaces the latest one, kept in ``box`` (a ``Latest``,
    made here if not given); nothing is ever cleared, so no report can be
    lost between the threads. It is let go (``send(report)``, a ``value``
    dict) by ``sendDue`` once due: at once in the reporting thread when
    ``eager`` (a loop with no thread of its own), else by a sender that
    waits on ``lock`` (a ``Condition``, which may be shared) for
    ``due()``; then ``report`` is the box itself. At the run's end,
    ``take()`` hands over the latest report not yet let go, to go with the
    end. ``clock`` is monotonic seconds; ``wallClock`` (with
    ``seconds()``) stamps each report an eager Throttle is given (a
    ``Latest`` stamps its own with the system's); ``started`` is when the
    run started, by ``clock`` (None: now), for a Throttle made after it."""

    def __init__(self, send, interval, clock=time.monotonic, lock=None,
                 eager=True, wallClock=systemClock, started=None, box=None):
        self.send = send
        self.wallClock = wallClock
        self.interval = interval
        self.clock = clock
        self.lock = threading.Condition() if lock is None else lock
        self.eager = eager
        self.box = Latest() if box is None else box
        self._sent = None
        self._last = clock() if started is None else started
        self.report = self._reportEagerly if eager else self.box

    def _reportEagerly(self, fraction, message):
        self.box.latest = (fraction, message, self.wallClock.seconds())
        if self.clock() - self._last >= self.interval:
            with self.lock:
                self.sendDue()

    def __call__(self, fraction, message):
        self.report(fraction, message)

    @property
    def pending(self):
        """Whether a report waits to be let go."""
        return self.box.latest is not self._sent

    def due(self):
        """Seconds until the waiting report may go (0: now), or None when
        none waits. Call with ``lock`` held."""
        if not self.pending:
            return None
        return max(0.0, self._last + self.interval - self.clock())

    def sendDue(self):
        """Let the waiting report go if its time has come. Call with
        ``lock`` held."""
        if self.due() == 0.0:
            report = self._sent = self.box.latest
            self._last = self.clock()
            self.send(value(*report))

    def take(self):
        """The latest report not yet let go (None if none), which no
        longer waits: the run has ended, and it goes with the end."""
        with self.lock:
            report = self.box.latest
            if report is self._sent:
                return None
            self._sent = report
            return value(*report)
