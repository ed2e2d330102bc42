"""Hearing a PostgreSQL store's notifications, for several servers.

A job added (or queued again) on any server, and a job ending on any
server, is announced with NOTIFY in the transaction that made it so; the
listener of ``PostgreSQLJobStore`` hears it on a connection of its own, in
a thread of its own, and calls back.
"""

import threading

import psycopg
from twisted.logger import Logger

from remotetask.store.pgconnections import reason


class NotificationListener:
    """``listen()`` on new connections that ``connect(autocommit=True)``
    opens to the database ``where``, running the store's named
    ``queries``."""

    log = Logger()

    def __init__(self, connect, where, queries):
        self.connect = connect
        self.where = where
        self.queries = queries
        self._listeners = set()
        self._lock = threading.Lock()

    def listen(self, callback, finished=None):
        """Call ``callback()`` soon after a job is added (or queued again)
        in this database, by any server, and ``finished(jobid, status)``
        when one ends (completed, error, cancelled); return ``stop()``.

        It runs on a daemon thread with a connection of its own. Bursts are
        coalesced into one call. ``callback()`` is also called once each
        time listening starts, for jobs added before it did: at first, and
        when back after the connection dropped (it reconnects, waiting
        longer each time); ``finished(None, None)`` then says that ends
        may have gone unheard meanwhile. ``stop()`` returns within two
        seconds.
        """
        stopping = threading.Event()
        thread = threading.Thread(
            target=self._listen, args=(callback, finished, stopping),
            daemon=True,
            name=f'remotetask-listen {self.where}')

        def stop():
            stopping.set()
            with self._lock:
                self._listeners.discard(stop)
            if thread is not threading.current_thread():
                thread.join(2.0)
        with self._lock:
            self._listeners.add(stop)
        thread.start()
        return stop

    def _listen(self, callback, finished, stopping, poll=0.5,
                delays=(0.1, 5.0)):
        delay, missed, lost = delays[0], False, False
        while not stopping.is_set():
            try:
                with self.connect(autocommit=True) as connection:
                    connection.execute(self.queries['listen_jobs'])
                    if finished is not None:
                        connection.execute(self.queries['listen_finished'])
                    delay = delays[0]
                    if lost:
                        self.log.info('Listening to {where} again',
                                      where=self.where)
                    lost = False
                    # Jobs added before LISTEN took effect went unheard.
                    self._wake(callback)
                    if missed and finished is not None:
                        self._wake(finished, None, None)
                    while not stopping.is_set():
                        # Returns at the first notification, with any that
                        # came in the same read: a burst is one wake-up.
                        heard = list(connection.notifies(timeout=poll,
                                                         stop_after=1))
                        if any(n.channel == 'remotetask_jobs'
                               for n in heard):
                            self._wake(callback)
                        for notice in heard:
                            if notice.channel == 'remotetask_finished':
                                jobid, _, status = notice.payload.partition(
                                    ':')
                                self._wake(finished, int(jobid),
                                           status or None)
            except psycopg.Error as error:
                if stopping.is_set():
                    break
                if not lost:  # once per loss, not at every attempt
                    self.log.warn('Lost the job notifications from {where} '
                                  '({error}); reconnecting',
                                  where=self.where, error=reason(error))
                missed = lost = True
                stopping.wait(delay)
                delay = min(delay * 2, delays[1])

    def _wake(self, callback, *args):
        try:
            callback(*args)
        except Exception:
            self.log.failure('The job notification callback failed')

    def stopAll(self):
        """Stop every listener (the store is closing)."""
        with self._lock:
            listeners, self._listeners = self._listeners, set()
        for stop in listeners:
            stop()
