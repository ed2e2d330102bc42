"""One log line when a store becomes unavailable, one when it is back.

While a database is down, every caller of the store fails: the writer,
the feeder once a second, heartbeats, retention, each scrape of /metrics.
Each logging its own failure buried the one fact that mattered under a
traceback every few seconds. So the stores report here, and only here is
it logged: the first failure (what went wrong), then, at the first
success after it, how long it lasted and how many calls failed meanwhile.
Callers stay quiet about ``StoreUnavailable``, and answer it (fault 6).

An outage may be partial: with the jobs table locked, the heartbeats and
the completion calls (tables of their own) still succeed between failing
adds and claims. So a success ends an outage only once ``settle`` seconds
have passed without a failure; until then the outage goes on, and so
does its count of failed calls.
"""

import threading
import time

from twisted.logger import Logger


class OutageLog:
    """The state of one store, ``where`` (its description for people):
    up, or down since some moment. Thread-safe; ``clock`` gives seconds
    (``time.monotonic``)."""

    log = Logger()

    def __init__(self, where, clock=time.monotonic, settle=5.0):
        self.where = where
        self.clock = clock
        self.settle = settle
        self.since = None
        self.failures = 0
        self._lastFailure = None
        self._lock = threading.Lock()

    @property
    def down(self):
        return self.since is not None

    def failed(self, error):
        """A call failed because the store is unavailable (``error``)."""
        with self._lock:
            self.failures += 1
            self._lastFailure = self.clock()
            if self.since is not None:
                return
            self.since = self._lastFailure
        self.log.warn('The job store ({where}) is unavailable: {error}. '
                      'Calls that need it fail with fault 6 until it is '
                      'back.', where=self.where, error=error)

    def succeeded(self):
        """A call of the store succeeded."""
        if self.since is None:  # the usual case, without the lock
            return
        with self._lock:
            now = self.clock()
            if self.since is None or now - self._lastFailure < self.settle:
                return
            seconds = now - self.since
            failures, self.since, self.failures = self.failures, None, 0
        self.log.info('The job store ({where}) is available again, after '
                      '{seconds:.1f} s; {failures} call(s) failed meanwhile.',
                      where=self.where, seconds=seconds, failures=failures)
