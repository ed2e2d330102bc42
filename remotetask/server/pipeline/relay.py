"""Calls from other threads, run in the reactor thread with one wake-up
for many.

The store's writer thread tells the reactor about every add, end and
finished write; a burst of them must not cost a reactor wake-up each
(``callFromThread`` writes to the waker pipe every time). The relay queues
calls and wakes the reactor once per burst, keeping their order.

A call relayed from the reactor thread itself (a write committed there,
``writer.py``'s inline batches) runs at once, unless calls relayed from
another thread still wait, which it then follows: sending it through the
waker pipe would cost a write, a read and a turn of the reactor for
nothing (measured in issue 18: one such round trip per add). As with
``callFromThread``, what it raises is logged, never raised to the caller,
which may be in the middle of a store's commit.
"""

import threading

from twisted.logger import Logger
from twisted.python import threadable


class ThreadRelay:
    """``relay(f, *args)`` from any thread runs ``f(*args)`` in the
    reactor thread, soon, in the order relayed."""

    log = Logger()

    def __init__(self, reactor=None):
        if reactor is None:
            from twisted.internet import reactor
        self.reactor = reactor
        self._lock = threading.Lock()
        self._calls = []
        # Relayed calls taken by _run and not all run yet: one relayed
        # from the reactor thread meanwhile must wait its turn too.
        self._draining = False

    def __call__(self, function, *args):
        with self._lock:
            here = not (self._calls or self._draining) and \
                threadable.ioThread == threading.get_ident()
            if not here:
                self._calls.append((function, args))
                first = len(self._calls) == 1
        if here:
            self._runOne(function, args)
        elif first:
            self.reactor.callFromThread(self._run)

    def _run(self):
        with self._lock:
            calls, self._calls = self._calls, []
            self._draining = True
        try:
            for function, args in calls:
                self._runOne(function, args)
        finally:
            self._draining = False

    def _runOne(self, function, args):
        try:
            function(*args)
        except Exception:
            self.log.failure('A call relayed to the reactor thread failed')
