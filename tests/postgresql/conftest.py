"""The PostgreSQL tier: a real server, a migrated template cloned per test.

The server is ``REMOTETASK_TEST_POSTGRESQL`` (default
``postgresql://postgres@127.0.0.1:5432/postgres``); its role must be
allowed to create databases. Where it cannot be reached the tier is
skipped, naming the URL; with ``REMOTETASK_REQUIRE_POSTGRESQL=1`` (as CI
sets) that is a failure instead.

The template's name is unique to the test session, so that several
sessions (a developer's and an editor's, or parallel CI jobs) can share
one server: a database is cloned only while no one is connected to it.
Cloning and dropping take a few tenths of a second each, so a thread does
them ahead of and behind the tests (``DatabaseFactory``).
"""

import os
import queue
import threading
import uuid

import psycopg
import pytest
from psycopg import sql
from psycopg.conninfo import conninfo_to_dict, make_conninfo

from remotetask.store.postgresql import PostgreSQLJobStore
from tests.acceptance.daemon import Daemons, storeURL

ADMIN_URL = os.environ.get('REMOTETASK_TEST_POSTGRESQL',
                           'postgresql://postgres@127.0.0.1:5432/postgres')
REQUIRED = os.environ.get('REMOTETASK_REQUIRE_POSTGRESQL') == '1'


def _shown(url):
    """``url`` for a message: without its password."""
    params = conninfo_to_dict(url)
    if 'password' not in params:
        return url
    params['password'] = '***'
    return make_conninfo(**params)


class PostgreSQLServer:
    """The test server, through an autocommit admin connection."""

    def __init__(self, admin):
        self.admin = admin
        self.template = f'rt_template_{uuid.uuid4().hex[:12]}'

    def dsn(self, dbname):
        """A connection string for ``dbname`` on the test server."""
        return make_conninfo(ADMIN_URL, dbname=dbname)

    def createDatabase(self, template):
        """Create a database cloned from ``template``; return its name."""
        name = f'rt_test_{uuid.uuid4().hex}'
        self.admin.execute(sql.SQL('CREATE DATABASE {} TEMPLATE {}').format(
            sql.Identifier(name), sql.Identifier(template)))
        return name

    def dropDatabase(self, name):
        """Drop ``name``, ending whatever is still connected to it."""
        self.admin.execute(
            sql.SQL('DROP DATABASE IF EXISTS {} WITH (FORCE)').format(
                sql.Identifier(name)))

    def terminate(self, pid):
        """End the backend ``pid`` as a server restart would, and wait
        (at most 5 s) until it is gone."""
        return self.admin.execute('SELECT pg_terminate_backend(%s, 5000)',
                                  (pid,)).fetchone()[0]


class DatabaseFactory:
    """Clones of the template made ahead of need, and used databases
    dropped behind, each on a thread with a connection of its own, so that
    a test waits for neither."""

    def __init__(self, server, ahead=2):
        self.server = server
        self.ready = queue.Queue()
        self.doomed = queue.Queue()
        self.slots = threading.Semaphore(ahead)
        self.stopping = threading.Event()
        self.threads = [
            threading.Thread(target=self._run, args=(work,), daemon=True,
                             name=f'rt_test {work.__name__}')
            for work in (self._create, self._drop)]
        for thread in self.threads:
            thread.start()

    def _run(self, work):
        try:
            with psycopg.connect(ADMIN_URL, autocommit=True) as admin:
                worker = PostgreSQLServer(admin)
                while not self.stopping.is_set():
                    work(worker)
        except psycopg.Error as error:
            self.ready.put(error)  # take() raises it

    def _create(self, worker):
        if self.slots.acquire(timeout=0.1):
            self.ready.put(worker.createDatabase(self.server.template))

    def _drop(self, worker):
        try:
            worker.dropDatabase(self.doomed.get(timeout=0.1))
        except queue.Empty:
            pass

    def take(self):
        """The name of a fresh clone of the template, now the test's."""
        name = self.ready.get(timeout=60)
        self.slots.release()
        if isinstance(name, Exception):
            raise name
        return name

    def giveBack(self, name):
        """Drop ``name`` soon."""
        self.doomed.put(name)

    def close(self):
        """Stop, and drop every database made."""
        self.stopping.set()
        for thread in self.threads:
            thread.join(60)
        for pending in (self.ready, self.doomed):
            while not pending.empty():
                name = pending.get()
                if isinstance(name, str):
                    self.server.dropDatabase(name)


@pytest.fixture(scope='session')
def postgresqlServer():
    """The reachable test server, with a migrated template database."""
    try:
        admin = psycopg.connect(ADMIN_URL, autocommit=True,
                                connect_timeout=3)
    except psycopg.OperationalError as error:
        reason = (f'PostgreSQL is not reachable at {_shown(ADMIN_URL)} '
                  f'(set REMOTETASK_TEST_POSTGRESQL): '
                  f'{" ".join(str(error).split())}')
        if REQUIRED:
            pytest.fail(f'{reason}; REMOTETASK_REQUIRE_POSTGRESQL=1 makes '
                        f'this a failure', pytrace=False)
        pytest.skip(reason)
    server = PostgreSQLServer(admin)
    admin.execute(sql.SQL('CREATE DATABASE {} TEMPLATE template0').format(
        sql.Identifier(server.template)))
    try:
        PostgreSQLJobStore(server.dsn(server.template)).close()
        server.factory = DatabaseFactory(server)
        try:
            yield server
        finally:
            server.factory.close()
    finally:
        server.dropDatabase(server.template)
        admin.close()


@pytest.fixture
def postgresqlDsn(postgresqlServer):
    """A connection string for a fresh, migrated database of its own,
    dropped after the test."""
    name = postgresqlServer.factory.take()
    yield postgresqlServer.dsn(name)
    postgresqlServer.factory.giveBack(name)


@pytest.fixture
def emptyPostgresqlDsn(postgresqlServer):
    """A connection string for a fresh database with no tables at all."""
    name = postgresqlServer.createDatabase('template0')
    yield postgresqlServer.dsn(name)
    postgresqlServer.factory.giveBack(name)


# The cluster tests: several daemons on one database

@pytest.fixture
def database(postgresqlDsn):
    """The test database, with the tables the recordRow and recordSpan
    tasks write to."""
    with psycopg.connect(postgresqlDsn, autocommit=True) as connection:
        connection.execute('CREATE TABLE runs (key text NOT NULL)')
        connection.execute(
            'CREATE TABLE spans (key text NOT NULL, '
            'began double precision NOT NULL, '
            'ended double precision NOT NULL)')
    return postgresqlDsn


def runs(dsn):
    """{key: how many times it ran}."""
    with psycopg.connect(dsn) as connection:
        return dict(connection.execute(
            'SELECT key, count(*) FROM runs GROUP BY key').fetchall())


def jobStatuses(dsn):
    with psycopg.connect(dsn) as connection:
        return dict(connection.execute(
            'SELECT status, count(*) FROM remotetask_jobs '
            'GROUP BY status').fetchall())


@pytest.fixture
def startServer(database, tmp_path):
    """Start daemons on the shared database, each in a directory of its
    own (``start(name, *args, tasks=...)``); all killed after."""
    daemons = Daemons(tmp_path, store=storeURL(database),
                      args=['--workers=2', '--heartbeat-timeout=2'])

    def start(name, *args, tasks=None):
        return daemons.start(*args, name=name, tasks=tasks)
    yield start
    daemons.killAll()
