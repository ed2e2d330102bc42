"""A deadline for each call of a PostgreSQL store, kept by the client.

PostgreSQL ends a statement that runs past ``statement_timeout``, and one
that waits past ``lock_timeout`` for a lock, but only while it runs: a
backend that is stopped (SIGSTOP, a frozen virtual machine) leaves the
call waiting for an answer that never comes, since the kernel still
acknowledges what is sent, and no TCP timeout fires. So a thread watches
the transactions in progress; one that runs past its deadline has its
connection's socket shut down. The call then fails at once as a lost
connection (fault 6, or fault 10 if it was committing), and the next call
opens a fresh connection, to a fresh backend.
"""

import os
import socket
import threading
import time

from twisted.logger import Logger


class CallWatch:
    """Shuts down the connections busy for longer than ``deadline``
    seconds, looking every ``interval`` seconds in a thread of its own
    (None: no thread; whoever made it calls ``check()``)."""

    log = Logger()

    def __init__(self, deadline, where, interval=0.5, clock=time.monotonic):
        self.deadline = deadline
        self.where = where
        self.interval = interval
        self.clock = clock
        #: Held while a connection is closed or shut down, so that a
        #: socket number is never shut down after being given to another.
        self.lock = threading.Lock()
        self._busy = {}
        self._stopping = threading.Event()
        self._thread = None

    def begin(self, connection):
        """``connection`` starts a transaction."""
        with self.lock:
            self._busy[connection] = self.clock()
            if self._thread is None and self.interval:
                self._thread = threading.Thread(
                    target=self._run, daemon=True,
                    name=f'remotetask-watch {self.where}')
                self._thread.start()

    def end(self, connection):
        """``connection``'s transaction has ended."""
        with self.lock:
            self._busy.pop(connection, None)

    def _run(self):
        while not self._stopping.wait(self.interval):
            self.check()

    def check(self):
        """Shut down the connections past their deadline; how many."""
        now = self.clock()
        stuck = 0
        with self.lock:
            for connection, since in list(self._busy.items()):
                if now - since < self.deadline or connection.closed:
                    continue
                del self._busy[connection]
                stuck += 1
                _shutDown(connection)
        if stuck:
            self.log.warn(
                '{count} call(s) of the job store ({where}) took over '
                '{deadline:g} s without an answer; their connections are '
                'closed (see --store-timeout)', count=stuck,
                where=self.where, deadline=self.deadline)
        return stuck

    def stop(self):
        self._stopping.set()


def _shutDown(connection):
    """Shut down ``connection``'s socket under its user, which then gets
    an error instead of waiting on."""
    try:
        duplicate = socket.socket(fileno=os.dup(connection.pgconn.socket))
    except Exception:
        return
    try:
        duplicate.shutdown(socket.SHUT_RDWR)
    except OSError:
        pass
    finally:
        duplicate.close()
