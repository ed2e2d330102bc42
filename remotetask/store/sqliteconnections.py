"""A SQLite connection per thread, and one writer at a time.

Each thread of a ``SQLiteJobStore`` keeps one connection, set up in
``_connect()``, which holds every setting with the reason for it. Reads
run on it at once (WAL: they never wait for the writer); a write is one
``BEGIN IMMEDIATE`` transaction, this process's writers taking turns on a
lock rather than in SQLite's busy handler. A file that cannot be opened
or written is ``StoreUnavailable`` (fault 6), logged once as an outage
(``OutageLog``); one found read-only has every connection reopened.
"""

import contextlib
import sqlite3

from remotetask.errors import StoreUnavailable
from remotetask.store.nesting import Joined


def _rowFactory(cursor, values):
    return {column[0]: value
            for column, value in zip(cursor.description, values)}


class _Rows(list):
    """Fetched rows, read like the cursor they came from."""

    def fetchone(self):
        return self[0] if self else None

    def fetchall(self):
        return self


class SQLiteConnections:
    """The connections of ``SQLiteJobStore``, which provides ``queries``,
    ``path``, ``synchronous``, ``busyTimeout``, ``outage`` (an
    ``OutageLog``), ``_local`` (a ``threading.local``), ``_connections``
    and ``_connectionsLock`` (every connection open, for ``close``),
    ``_writeLock`` and ``_generation`` (bumped to have every connection
    reopened)."""

    def _connect(self):
        # isolation_level=None: we say BEGIN ourselves, so that a claim can
        # take the write lock up front (BEGIN IMMEDIATE) instead of failing
        # to upgrade a read lock when another writer got there first.
        connection = sqlite3.connect(
            self.path, isolation_level=None, check_same_thread=False,
            timeout=self.busyTimeout)
        connection.row_factory = _rowFactory
        # WAL: readers do not block the writer nor it them, and a commit is
        # one append to the log instead of a rewrite of the database pages.
        connection.execute('PRAGMA journal_mode = WAL')
        # See SQLiteJobStore's docstring: NORMAL survives kill -9, FULL
        # power loss as well.
        connection.execute(f'PRAGMA synchronous = {self.synchronous}')
        # Another thread or process holding the write lock briefly is
        # normal; wait for it rather than failing at once.
        connection.execute(
            f'PRAGMA busy_timeout = {int(self.busyTimeout * 1000)}')
        # Keep temporary b-trees (sorting for clean, find) off the disk.
        connection.execute('PRAGMA temp_store = MEMORY')
        # A job's outstanding completion call goes with the job (ON
        # DELETE CASCADE); SQLite enforces foreign keys only when asked.
        connection.execute('PRAGMA foreign_keys = ON')
        return connection

    def _connection(self):
        connection = getattr(self._local, 'connection', None)
        if connection is not None and self._local.generation != \
                self._generation:
            # Opened before the file turned read-only (see _unwritable):
            # SQLite keeps such connections read-only, so start afresh.
            with self._connectionsLock:
                if connection in self._connections:
                    self._connections.remove(connection)
            connection.close()
            connection = None
        if connection is None:
            try:
                connection = self._connect()
            except sqlite3.Error as error:
                raise StoreUnavailable(
                    f'Cannot open the job store {self.path}: {error}') from error
            self._local.connection = connection
            self._local.generation = self._generation
            with self._connectionsLock:
                self._connections.append(connection)
        return connection

    @contextlib.contextmanager
    def _outermost(self):
        """One write transaction on this thread's connection, the write
        lock held throughout (see ``JoinedTransactions``); a failure to
        open or write the file is the start of an outage, a commit its
        end (``OutageLog``)."""
        try:
            connection = self._local.txConnection = self._connection()
            with self._writeLock:
                with self._writing(connection):
                    yield
        except StoreUnavailable as error:
            self.outage.failed(error)
            raise
        self.outage.succeeded()

    def _transaction(self):
        """The connection, inside a write transaction (joined if one is
        open on this thread)."""
        return Joined(self, giving=True)

    @contextlib.contextmanager
    def _writing(self, connection):
        try:
            connection.execute('BEGIN IMMEDIATE')
        except sqlite3.OperationalError as error:
            raise self._unwritable(error) from error
        try:
            yield connection
            connection.execute('COMMIT')
        except BaseException as error:
            if connection.in_transaction:
                connection.execute('ROLLBACK')
            if isinstance(error, sqlite3.OperationalError):
                raise self._unwritable(error) from error
            raise

    def _unwritable(self, error):
        """The StoreUnavailable for a failed write; after a read-only
        error, have every connection reopened, since SQLite shares a
        read-only mapping among all of this process's connections to the
        file until each has been closed."""
        if 'readonly' in str(error).replace(' ', '').lower():
            # Called under the write lock, so no other thread is writing;
            # a reader whose connection closes under it retries (_read).
            self._generation += 1
            with self._connectionsLock:
                connections, self._connections = self._connections, []
            for connection in connections:
                connection.close()
        return StoreUnavailable(
            f'The job store {self.path} cannot be written: {error}')

    @contextlib.contextmanager
    def writingNow(self):
        """See ``IQuickWrites``: the write lock if no other thread of this
        process holds it (a reentrant lock: the transactions inside take
        it again)."""
        held = self._writeLock.acquire(blocking=False)
        try:
            if held:
                self._noAutoCheckpoint()
            yield held
        finally:
            if held:
                self._writeLock.release()

    def _noAutoCheckpoint(self):
        """On the connection that writes in ``writingNow()`` (the reactor
        thread's), no checkpoint when a commit finds the log long: it
        would write the file and fsync on that thread. ``checkpoint()``
        does it in another."""
        connection = self._connection()
        if getattr(self._local, 'quick', None) is not connection:
            connection.execute('PRAGMA wal_autocheckpoint = 0')
            self._local.quick = connection

    def checkpoint(self):
        """See ``IQuickWrites``: PASSIVE, so that it never waits for the
        writer nor makes it wait; the frames it could not move yet go in
        a later one."""
        try:
            self._connection().execute('PRAGMA wal_checkpoint(PASSIVE)')
        except sqlite3.Error as error:
            raise StoreUnavailable(
                f'Cannot checkpoint the job store {self.path}: '
                f'{error}') from error

    def _read(self, name, **params):
        """The rows a query gives, fetched at once, so that no cursor
        outlives the call (see _unwritable)."""
        for attempt in (1, 2):
            try:
                return _Rows(self._connection().execute(self.queries[name],
                                                        params))
            except sqlite3.ProgrammingError:
                # Closed by another thread after a read-only error.
                if attempt == 2:
                    raise
                self._local.generation = -1
            except sqlite3.OperationalError as error:
                unavailable = StoreUnavailable(
                    f'The job store {self.path} cannot be read: {error}')
                self.outage.failed(unavailable)
                raise unavailable from error

    def _closeOwn(self):
        connection = getattr(self._local, 'connection', None)
        if connection is not None:
            with self._connectionsLock:
                self._connections.remove(connection)
            connection.close()
            self._local.connection = None
