"""Calls from other threads, run in the reactor thread with one wake-up
for many.

The store's writer thread tells the reactor about every add, end and
finished write; a burst of them must not cost a reactor wake-up each
(``callFromThread`` writes to the waker pipe every time). The relay queues
calls and wakes the reactor once per burst, keeping their order.
"""

import threading


class ThreadRelay:
    """``relay(f, *args)`` from any thread runs ``f(*args)`` in the
    reactor thread, soon, in the order relayed."""

    def __init__(self, reactor=None):
        if reactor is None:
            from twisted.internet import reactor
        self.reactor = reactor
        self._lock = threading.Lock()
        self._calls = []

    def __call__(self, function, *args):
        with self._lock:
            self._calls.append((function, args))
            first = len(self._calls) == 1
        if first:
            self.reactor.callFromThread(self._run)

    def _run(self):
        with self._lock:
            calls, self._calls = self._calls, []
        for function, args in calls:
            function(*args)
