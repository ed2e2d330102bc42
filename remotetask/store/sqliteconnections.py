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
import itertools
import os
import sqlite3
import threading

from remotetask.core import events
from remotetask.errors import StoreUnavailable
from remotetask.store.nesting import Transactions


# sqlite3 binds an int, float or str as it is, but first offers every other
# value, None included, to an adapter: none being registered for None, it
# looks for __adapt__ on the protocol and __conform__ on None, each miss
# an AttributeError made, formatted and cleared (about 1.2 us a value, a
# dozen NULL parameters a job: more than some of its statements take in
# SQLite). An adapter for None (dict.get: None for any key, in C) finds
# it at once. For every connection of the process (sqlite3's adapters are
# global), and no change to any: None is bound as NULL, as before.
sqlite3.register_adapter(type(None), {}.get)


# (description, names) of the statement whose rows _rowFactory made last.
# Replaced whole, never changed in place: every thread's connection
# shares it.
_lastNames = ((), ())


def _rowFactory(cursor, values):
    """Each row as a dict of its columns by name. Called for every row
    fetched (a claim's batch is hundreds): the names are worked out once
    per statement run, not per row (a cursor's ``description`` is one
    tuple while it runs one statement), and the dict is built in C."""
    global _lastNames
    description = cursor.description
    last = _lastNames
    if last[0] is not description:
        last = _lastNames = (description, tuple(
            column[0] for column in description))
    return dict(zip(last[1], values))


_memoryNumbers = itertools.count(1)


def memoryTarget():
    """A URI naming a new database in this process's memory, which every
    connection of one store opens. The memdb VFS rather than a shared
    cache (``mode=memory&cache=shared``): a shared cache locks tables,
    and a reader meeting a writer's lock fails at once ("database table
    is locked") instead of waiting as on a file; memdb locks the database
    as a file is locked, and waits for the busy timeout."""
    return f'file:/remotetask-{os.getpid()}-{next(_memoryNumbers)}?vfs=memdb'


def appendEvent(stored, event, keep):
    """``remotetask_append_event`` of the queries: ``stored`` (a job's
    events, or None) with ``event`` appended (None: nothing), keeping at
    most ``keep`` (``events.append``). Called for every event recorded,
    so it reads no JSON while the bound is far: each event is an object,
    so a job has no more events than its text has ``{``."""
    if event is None:
        return stored
    if not stored or stored == '[]':
        return f'[{event}]'
    if stored.count('{') < keep:
        return f'{stored[:-1]},{event}]'
    return events.append(stored, event, keep)


def appendEvents(stored, first, second, keep):
    """``remotetask_append_events`` of the queries: ``appendEvent`` of
    ``first``, then of ``second``. A run's end records its start too (a
    short run's start and end come together), and one call from SQLite
    into Python for the two, rather than one each, costs less. Far from
    the bound, both go on at once."""
    if first is not None and second is not None and stored and \
            stored != '[]' and \
            stored.count('{') + first.count('{') < keep:
        return f'{stored[:-1]},{first},{second}]'
    return appendEvent(appendEvent(stored, first, keep), second, keep)


class _Rows(list):
    """Fetched rows, read like the cursor they came from."""

    def fetchone(self):
        return self[0] if self else None

    def fetchall(self):
        return self


class _Writing:
    """One write transaction of ``connections`` on this thread's
    connection, its write lock held throughout; a failure to open or write
    the file is the start of an outage, a commit its end (``OutageLog``).
    A context manager written out rather than a generator, as ``Joined``
    is: one is entered for every write, a few times a job, and generators
    doubled the cost of a transaction around a short statement."""

    __slots__ = ('connections', 'connection')

    def __init__(self, connections):
        self.connections = connections
        self.connection = None

    def __enter__(self):
        connections = self.connections
        try:
            connection = connections.connection()
        except StoreUnavailable as error:
            connections.outage.failed(error)
            raise
        connections._writeLock.acquire()
        try:
            connection.execute('BEGIN IMMEDIATE')
        except BaseException as error:
            self._end(None, error)
            raise
        self.connection = connection
        return connection

    def __exit__(self, kind, value, traceback):
        connection, self.connection = self.connection, None
        if kind is not None:
            self._end(connection, value)
            return False
        try:
            connection.execute('COMMIT')
        except BaseException as error:
            self._end(connection, error)
            raise
        self.connections._writeLock.release()
        self.connections.outage.succeeded()
        return False

    def _end(self, connection, error):
        """After ``error``: roll back (a failed ``BEGIN``, ``connection``
        None, left nothing to), let the lock go, and raise a failure to
        write the file as ``StoreUnavailable``; a ``StoreUnavailable``
        starts an outage. Returns when ``error`` is to go on as it is."""
        connections = self.connections
        try:
            if connection is not None and connection.in_transaction:
                connection.execute('ROLLBACK')
            if isinstance(error, sqlite3.OperationalError):
                raise connections._unwritable(error) from error
        except StoreUnavailable as unavailable:
            connections._writeLock.release()
            connections.outage.failed(unavailable)
            raise
        except BaseException:
            connections._writeLock.release()
            raise
        connections._writeLock.release()
        if isinstance(error, StoreUnavailable):
            connections.outage.failed(error)


class SQLiteConnections:
    """The connections of one ``SQLiteJobStore`` to ``target`` (a file
    name, or the URI of a database in memory when ``uri``), running its
    named ``queries``; each failure to reach it is told to ``outage`` (an
    ``OutageLog``). ``synchronous`` and ``busyTimeout``: see
    ``SQLiteJobStore``."""

    def __init__(self, target, queries, outage, synchronous='NORMAL',
                 busyTimeout=10.0, uri=False):
        self.target = target
        self.queries = queries
        self.outage = outage
        self.synchronous = synchronous
        self.busyTimeout = busyTimeout
        self.uri = uri
        self.transactions = Transactions(self._outermost)
        # A database in memory lives while a connection to it is open:
        # this one, until close().
        self._keeper = sqlite3.connect(target, uri=True) if uri else None
        self._local = threading.local()
        # Every connection open, for close() and _unwritable().
        self._connections = []
        self._connectionsLock = threading.Lock()
        # Writers in this process take turns here rather than in SQLite's
        # busy handler, which sleeps in steps of milliseconds. Reentrant,
        # for writingNow().
        self._writeLock = threading.RLock()
        # Bumped when the file was found read-only: every thread then
        # reopens its connection before its next call.
        self._generation = 0

    def _connect(self):
        # isolation_level=None: we say BEGIN ourselves, so that a claim can
        # take the write lock up front (BEGIN IMMEDIATE) instead of failing
        # to upgrade a read lock when another writer got there first.
        connection = sqlite3.connect(
            self.target, isolation_level=None, check_same_thread=False,
            timeout=self.busyTimeout, uri=self.uri)
        connection.row_factory = _rowFactory
        # WAL: readers do not block the writer nor it them, and a commit is
        # one append to the log instead of a rewrite of the database pages.
        # (A database in memory keeps its journal in memory: no WAL.)
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
        # The statements that record an event append it through this one
        # function, as PostgreSQL's statements do through a function of
        # the same name (see the head of sqlite.sql).
        connection.create_function('remotetask_append_event', 3,
                                   appendEvent, deterministic=True)
        connection.create_function('remotetask_append_events', 4,
                                   appendEvents, deterministic=True)
        return connection

    def connection(self):
        """This thread's connection, opened if need be."""
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
                    f'Cannot open the job store {self.target}: '
                    f'{error}') from error
            self._local.connection = connection
            self._local.generation = self._generation
            with self._connectionsLock:
                self._connections.append(connection)
        return connection

    def _outermost(self):
        """One write transaction on this thread's connection
        (``_Writing``)."""
        return _Writing(self)

    def transaction(self):
        """The connection, inside a write transaction (joined if one is
        open on this thread)."""
        return self.transactions.transaction()

    def _unwritable(self, error):
        """The StoreUnavailable for a failed write; after a read-only
        error, have every connection reopened, since SQLite shares a
        read-only mapping among all of this process's connections to the
        file until each has been closed."""
        if 'readonly' in str(error).replace(' ', '').lower():
            # Called under the write lock, so no other thread is writing;
            # a reader whose connection closes under it retries (read).
            self._generation += 1
            self._closeAll()
        return StoreUnavailable(
            f'The job store {self.target} cannot be written: {error}')

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
        connection = self.connection()
        if getattr(self._local, 'quick', None) is not connection:
            connection.execute('PRAGMA wal_autocheckpoint = 0')
            self._local.quick = connection

    def checkpoint(self):
        """See ``IQuickWrites``: PASSIVE, so that it never waits for the
        writer nor makes it wait; the frames it could not move yet go in
        a later one."""
        try:
            self.connection().execute('PRAGMA wal_checkpoint(PASSIVE)')
        except sqlite3.Error as error:
            raise StoreUnavailable(
                f'Cannot checkpoint the job store {self.target}: '
                f'{error}') from error

    def read(self, name, /, **params):
        """The rows the query ``name`` gives, fetched at once, so that no
        cursor outlives the call (see _unwritable)."""
        for attempt in (1, 2):
            try:
                return _Rows(self.connection().execute(self.queries[name],
                                                       params))
            except sqlite3.ProgrammingError:
                # Closed by another thread after a read-only error.
                if attempt == 2:
                    raise
                self._local.generation = -1
            except sqlite3.OperationalError as error:
                unavailable = StoreUnavailable(
                    f'The job store {self.target} cannot be read: {error}')
                self.outage.failed(unavailable)
                raise unavailable from error

    def one(self, name, /, **params):
        """The first row of the query ``name``, or None."""
        return self.read(name, **params).fetchone()

    def write(self, name, /, **params):
        """The rows the statement ``name`` gives, in a transaction."""
        with self.transaction() as connection:
            return connection.execute(self.queries[name], params).fetchall()

    def change(self, name, /, **params):
        """How many rows the statement ``name`` changed, in a
        transaction."""
        with self.transaction() as connection:
            return connection.execute(self.queries[name], params).rowcount

    def run(self, work):
        """``work(connection)``, in a transaction."""
        with self.transaction() as connection:
            return work(connection)

    def closeOwn(self):
        """Close this thread's connection (the constructing thread, which
        makes no other store calls)."""
        connection = getattr(self._local, 'connection', None)
        if connection is not None:
            with self._connectionsLock:
                self._connections.remove(connection)
            connection.close()
            self._local.connection = None

    def _closeAll(self):
        with self._connectionsLock:
            connections, self._connections = self._connections, []
        for connection in connections:
            connection.close()

    def close(self):
        """Close every connection."""
        self._closeAll()
        self._local = threading.local()
        self.transactions.reset()
        if self._keeper is not None:
            self._keeper.close()
