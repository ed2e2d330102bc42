"""The store contract on PostgreSQL, and what several servers sharing one
database rely on: claims, cron runs, wake-ups, recovery, reconnection."""

import json
import threading
import time

import psycopg
import pytest
from psycopg.conninfo import conninfo_to_dict
from twisted.logger import globalLogPublisher
from zope.interface.verify import verifyObject

from remotetask.core.limits import Limit, Rate
from remotetask.errors import NoSuchJob, StoreUnavailable
from remotetask.interfaces import ISharedJobStore
from remotetask.server.cluster.cluster import isShared
from remotetask.store import openStore
from remotetask.store.postgresql import (
    MIGRATIONS, QUERIES, PostgreSQLJobStore)
from tests.ownercontract import OwnerContractTests
from tests.storecontract import StoreContractTests, claimOne, nextDueIn
from tests.threads import runThreads

#: How long a test waits for something that should take milliseconds.
PATIENCE = 5.0


class TestPostgreSQLJobStore(StoreContractTests, OwnerContractTests):

    @pytest.fixture(autouse=True)
    def _store(self, postgresqlServer, postgresqlDsn):
        """The contract's store, on a fresh database for each test (this
        replaces the contract's fixture, which gives makeStore only a
        tmp_path)."""
        self.server, self.dsn = postgresqlServer, postgresqlDsn
        self.others = []
        self.store = self.makeStore(None)
        yield
        for store in [self.store, *self.others]:
            store.close()

    def makeStore(self, tmp_path):
        return PostgreSQLJobStore(self.dsn, serverId='server-a')

    def otherServer(self, serverId='server-b'):
        """A second store object on the same database: another server."""
        store = PostgreSQLJobStore(self.dsn, serverId=serverId)
        self.others.append(store)
        return store

    def query(self, text, *params):
        with psycopg.connect(self.dsn) as connection:
            return connection.execute(text, params).fetchall()

    def waitForListener(self, event):
        assert event.wait(PATIENCE), 'the listener never started listening'
        event.clear()

    def test_provides_the_shared_store_interface(self):
        """A PostgreSQL store is a store several servers share: it
        provides every method of ISharedJobStore (heartbeats, recovery,
        wake-ups), which is how the daemon knows to run its cluster."""
        assert verifyObject(ISharedJobStore, self.store)
        assert isShared(self.store)

    # The schema and the connection settings

    def test_schema_is_migrated_and_ids_fit_xmlrpc(self):
        """The database is at the newest schema version, each migration
        recorded once, and job ids stop below 2**31."""
        assert self.store.schemaVersion == len(MIGRATIONS)
        assert self.query('SELECT version FROM remotetask_schema '
                          'ORDER BY version') == [
            (number,) for number, _ in MIGRATIONS]
        assert self.query("SELECT max_value FROM pg_sequences WHERE "
                          "sequencename = 'remotetask_jobs_id_seq'") == [
            (2**31 - 1,)]

    def test_connection_settings(self):
        """Store connections commit durably, end stuck transactions, cancel
        statements past the store's timeout (10 s) and lock waits past
        half of it, and name their server in pg_stat_activity."""
        connection = self.store.connections.connection()
        settings = connection.execute(
            "SELECT current_setting('synchronous_commit') AS sync, "
            "current_setting('idle_in_transaction_session_timeout') AS idle, "
            "current_setting('statement_timeout') AS statement, "
            "current_setting('lock_timeout') AS lock, "
            "current_setting('application_name') AS name").fetchone()
        assert settings == dict(sync='on', idle='1min', statement='10s',
                                lock='5s', name='remotetask server-a')
        assert not connection.autocommit
        assert connection.info.get_parameters()['connect_timeout'] == '2'

    def test_a_second_store_finds_the_schema_and_the_jobs(self):
        """Opening the database again migrates nothing and sees the jobs
        the first store committed."""
        jobid = self.add(input='"kept"')
        assert self.otherServer().get(jobid)['input'] == '"kept"'
        assert len(self.query('SELECT * FROM remotetask_schema')) == len(
            MIGRATIONS)

    def test_servers_starting_at_once_migrate_once(self, emptyPostgresqlDsn):
        """Several servers starting together on an empty database: all
        start, and each migration ran once."""
        stores = []
        errors = runThreads(lambda i: stores.append(
            PostgreSQLJobStore(emptyPostgresqlDsn)), 4)
        for store in stores:
            store.close()
        assert errors == []
        with psycopg.connect(emptyPostgresqlDsn) as connection:
            assert connection.execute(
                'SELECT version FROM remotetask_schema').fetchall() == [
                (number,) for number, _ in MIGRATIONS]

    def test_non_integer_job_id_is_NoSuchJob(self):
        """An id that is not an int is an unknown job, not a database
        error."""
        for call in (lambda: self.store.get('x'),
                     lambda: self.store.transition('x', {'queued'}, 'error'),
                     lambda: self.store.setSchedule(1.5, '{}')):
            with pytest.raises(NoSuchJob):
                call()

    def test_openStore_understands_postgresql_urls(self):
        """--store postgresql://... opens this store."""
        params = conninfo_to_dict(self.dsn)
        url = (f"postgresql://{params['user']}@{params['host']}:"
               f"{params.get('port', 5432)}/{params['dbname']}")
        store = openStore(url)
        self.others.append(store)
        assert isinstance(store, PostgreSQLJobStore)
        assert store.count() == 0

    # Several servers on one database

    def test_two_servers_claim_each_job_once(self):
        """Two servers with four threads each never claim the same job,
        and each claim records the server that holds it."""
        total, claimed = 300, {}
        self.store.addMany([('echo', '1', 'queued', None)] * total, 0.0)
        stores = [self.store, self.otherServer()]

        def worker(index):
            store = stores[index % 2]
            while (row := claimOne(store, 1.0, f't{index}')) is not None:
                claimed.setdefault(row['id'], []).append(store.serverId)

        assert runThreads(worker, 8) == []
        assert sorted(claimed) == list(range(1, total + 1))
        assert all(len(owners) == 1 for owners in claimed.values())
        owners = dict(self.query('SELECT id, owner FROM remotetask_jobs'))
        assert owners == {jobid: found[0] for jobid, found in claimed.items()}
        assert {'server-a', 'server-b'} <= set(owners.values())

    def test_a_cron_run_being_claimed_is_not_handed_out_again(self):
        """While one server is claiming a cron job's due run, another
        skips it; afterwards that due time is gone for both."""
        jobid = self.add(status='cronjob', schedule='{"minute":[1]}')
        self.store.scheduleFirstRuns(0.0, nextDueIn(60))
        other = self.otherServer()
        inside, proceed, result = (threading.Event(), threading.Event(),
                                   [])

        def slowNextDue(row, now):
            inside.set()
            assert proceed.wait(PATIENCE)
            return now + 60

        thread = threading.Thread(target=lambda: result.append(
            claimOne(self.store, 60.0, 'a', slowNextDue)))
        thread.start()
        try:
            assert inside.wait(PATIENCE)
            assert claimOne(other, 60.0, 'b') is None
        finally:
            proceed.set()
            thread.join(PATIENCE)
        assert (result[0]['id'], result[0]['due']) == (jobid, 120.0)
        assert claimOne(other, 60.0, 'b') is None
        assert self.store.get(jobid)['token'] == 'a'

    def test_each_cron_due_time_goes_to_one_server(self):
        """Eight threads on two servers racing for one cron job's backlog
        of due times get each due time exactly once."""
        jobid = self.add(status='cronjob', schedule='{"minute":[1]}')
        self.store.scheduleFirstRuns(0.0, lambda row, now: 1.0)
        stores, dues, now = [self.store, self.otherServer()], [], 40.0

        def worker(index):
            store, deadline = stores[index % 2], time.monotonic() + 30
            while store.hasDue(now) and time.monotonic() < deadline:
                row = claimOne(store, now, f't{index}',
                               lambda row, now: row['due'] + 1)
                if row is not None:
                    dues.append(row['due'] - 1)

        assert runThreads(worker, 8) == []
        assert sorted(dues) == [float(due) for due in range(1, 41)]
        assert self.store.get(jobid)['attempts'] == 40

    def test_requeue_moves_only_this_servers_claims(self):
        """A server restarting re-queues the jobs it left processing, not
        those another server is running."""
        mine, theirs = self.add(), self.add()
        other = self.otherServer()
        assert self.claim(token='a')['id'] == mine
        assert claimOne(other, 100.0, 'b')['id'] == theirs
        restarted = self.otherServer(serverId='server-a')
        assert restarted.requeue(['processing'], 'queued') == 1
        assert self.store.get(mine)['status'] == 'queued'
        assert self.store.get(theirs)['status'] == 'processing'
        assert other.finish(theirs, 'b', 'completed', '1', None, None, 101.0)

    def test_heartbeat_and_recoverLost(self):
        """Jobs held by a server whose heartbeat is older than the timeout
        go back to the queue, with an event naming the lost server, and
        its finish is refused; live servers and jobs claimed too recently
        to judge are left alone."""
        lost, live, recent = self.add(), self.add(), self.add()
        dead, quiet = self.otherServer('dead'), self.otherServer('quiet')
        dead.heartbeat(100.0)
        assert claimOne(dead, 100.0, 'd')['id'] == lost
        self.store.heartbeat(150.0)
        assert self.claim(now=150.0, token='a')['id'] == live
        self.store.heartbeat(200.0)
        # claimed without ever heartbeating, but only 5 s ago
        assert claimOne(quiet, 195.0, 'q')['id'] == recent
        assert self.store.recoverLost(200.0, 30.0) == [lost]
        row = self.store.get(lost)
        assert (row['status'], row['token']) == ('queued', None)
        event = json.loads(row['events'])[-1]
        assert (event['event'], event['server'], event['lost']) == (
            'put back', 'server-a', 'dead')
        assert not dead.finish(lost, 'd', 'completed', '1', None, None, 201.0)
        assert [self.store.get(i)['status'] for i in (live, recent)] == [
            'processing', 'processing']
        assert self.query('SELECT id FROM remotetask_servers') == [
            ('server-a',)]
        assert self.store.recoverLost(200.0, 30.0) == []
        assert self.store.recoverLost(300.0, 30.0) == [live, recent]

    def test_servers_claiming_at_once_share_a_limit_and_a_rate(self):
        """Three servers with three threads each, claiming at once and
        never finishing, hold no more runs of a task than its concurrency
        limit between them, and start no more than its rate allows: the
        limits are the cluster's, not each server's."""
        self.store.addMany([('slow', '1', 'queued', None)] * 30
                           + [('api', '1', 'queued', None)] * 30, 0.0)
        limits = {'slow': Limit(4, None), 'api': Limit(None, Rate(5, 60.0))}
        stores = [self.store, self.otherServer(), self.otherServer('c')]
        claimed = []

        def worker(index):
            store = stores[index % 3]
            while rows := store.claim(1.0 + index / 100, 2, f't{index}',
                                      nextDueIn(1), 1.0, scheduled=False,
                                      tasks=['slow', 'api'], limits=limits):
                claimed.extend(row['task'] for row in rows)

        assert runThreads(worker, 9) == []
        assert sorted(claimed) == ['api'] * 5 + ['slow'] * 4
        starts = self.query("SELECT starts FROM remotetask_limits "
                            "WHERE task = 'api'")
        assert len(starts[0][0]) == 5

    def test_a_claim_waits_for_a_limited_tasks_lock_only_with_its_work(
            self):
        """While another server's claim holds a limited task's row, a
        claim waits for it only if that task has a due job; with none, it
        leaves the task out and takes the others' jobs at once."""
        limits = {'slow': Limit(1, None)}
        self.store.announce({}, ['slow'], 1.0)
        free = self.add(task='fast')
        with psycopg.connect(self.dsn) as holder:
            holder.execute("SELECT * FROM remotetask_limits "
                           "WHERE task = 'slow' FOR UPDATE")
            done = []
            claimer = threading.Thread(target=lambda: done.append(
                self.claimed(tasks=['slow', 'fast'], limits=limits)))
            claimer.start()
            claimer.join(PATIENCE)
            assert done == [[free]]
            queued = self.add(task='slow')
            claimer = threading.Thread(target=lambda: done.append(
                self.claimed(tasks=['slow', 'fast'], limits=limits)))
            claimer.start()
            deadline = time.monotonic() + PATIENCE
            while not self.query(
                    "SELECT 1 FROM pg_stat_activity WHERE datname = "
                    "current_database() AND wait_event_type = 'Lock'"):
                assert time.monotonic() < deadline, 'the claim never waited'
                time.sleep(0.01)
            holder.rollback()
            claimer.join(PATIENCE)
        assert done == [[free], [queued]]

    def test_servers_adding_one_key_at_once_make_one_job(self):
        """Twelve threads on three servers adding the same key at once,
        some in batches, all get the one job's id."""
        stores = [self.store, self.otherServer(), self.otherServer('c')]
        ids = []

        def adder(index):
            store = stores[index % 3]
            if index % 2:
                ids.extend(store.addMany(
                    [('echo', '1', 'queued', None, 0, 'once')] * 2, 1.0))
            else:
                ids.append(store.add('echo', '1', 'queued', None, 1.0,
                                     key='once'))

        assert runThreads(adder, 12) == []
        assert len(ids) == 18 and len(set(ids)) == 1
        assert self.store.count() == 1

    def test_each_server_announces_its_tasks_beside_its_heartbeat(self):
        """servedTasks() lists the tasks of the servers whose heartbeat is
        recent, with the servers serving each; a server that stops
        withdraws its own, one lost is forgotten with them, and its next
        heartbeat makes them known again."""
        other = self.otherServer()
        self.store.announce({'echo': 'Echo', 'a': 'A'}, ['a'], 100.0)
        other.announce({'echo': 'Echo too', 'b': 'B'}, [], 110.0)
        served = self.store.servedTasks(120.0)
        assert served == {
            'a': dict(description='A', servers=['server-a']),
            'b': dict(description='B', servers=['server-b']),
            'echo': dict(description='Echo', servers=['server-a',
                                                      'server-b'])}
        assert set(self.store.servedTasks(135.0)) == {'b', 'echo'}
        assert self.query('SELECT task FROM remotetask_limits') == [('a',)]
        other.withdraw()
        assert set(self.store.servedTasks(120.0)) == {'a', 'echo'}
        self.store.recoverLost(200.0, 30.0)
        assert self.store.servers() == []
        self.store.heartbeat(201.0)
        assert [(row['id'], row['tasks']) for row in self.store.servers()
                ] == [('server-a', {'echo': 'Echo', 'a': 'A'})]

    def test_a_claim_seeks_each_tasks_queue_through_its_index(self):
        """With many jobs finished and queued, of three tasks and with
        priorities, the claim of queued jobs locks and takes each task's
        first jobs through remotetask_jobs_queued, and reads no table
        whole."""
        with psycopg.connect(self.dsn, autocommit=True) as connection:
            connection.execute(
                "INSERT INTO remotetask_jobs (task, status, input, created,"
                " priority) SELECT (ARRAY['a', 'b', 'c'])[1 + i % 3], "
                "CASE WHEN i % 2 = 0 THEN 'completed' ELSE 'queued' END, "
                "'{}', 1.0, i % 11 - 5 FROM generate_series(1, 30000) AS i")
            connection.execute('ANALYZE remotetask_jobs')
            plan = '\n'.join(row[0] for row in connection.execute(
                'EXPLAIN ' + QUERIES['claim_queued_jobs'], dict(
                    token='t', owner='o', claimed=1.0, started=None,
                    now=1.0, tasks=['a', 'c'], allowed=[10, 2], limit=10,
                    event=None, keep=10)))
        assert 'Index Scan using remotetask_jobs_queued' in plan
        assert 'LockRows' in plan
        assert 'Seq Scan on remotetask_jobs' not in plan

    # Wake-ups

    def test_an_add_wakes_a_listener_in_another_server(self):
        """A job added by one server wakes another server's listener
        within a second; stop() ends the listener promptly."""
        woken, other = threading.Event(), self.otherServer()
        stop = self.store.listen(woken.set)
        try:
            self.waitForListener(woken)
            started = time.monotonic()
            other.add('echo', '1', 'queued', None, 1.0)
            assert woken.wait(1.0)
            assert time.monotonic() - started < 1.0
            woken.clear()
            other.addMany([('echo', '1', 'queued', None)] * 3, 1.0)
            assert woken.wait(1.0)
        finally:
            started = time.monotonic()
            stop()
            assert time.monotonic() - started < 2.5

    def test_a_rolled_back_add_notifies_no_one(self):
        """The wake-up is sent in the adding transaction: a batch that
        fails sends none, a committed one does."""
        with psycopg.connect(self.dsn, autocommit=True) as listener:
            listener.execute('LISTEN remotetask_jobs')
            with pytest.raises(psycopg.IntegrityError):
                self.store.addMany([('echo', '1', 'queued', None),
                                    (None, '1', 'queued', None)], 1.0)
            listener.execute("NOTIFY remotetask_jobs, 'marker'")
            heard = [n.payload for n in listener.notifies(
                timeout=PATIENCE, stop_after=1)]
            assert heard == ['marker']
            self.add()
            heard = [n.payload for n in listener.notifies(
                timeout=PATIENCE, stop_after=1)]
            assert heard == ['']
        assert self.store.count() == 1

    def test_a_listener_reconnects_after_losing_its_connection(self):
        """When the listening connection is killed the listener connects
        again, wakes once for what it missed, and hears new jobs."""
        woken = threading.Event()
        stop = self.store.listen(woken.set)
        try:
            self.waitForListener(woken)
            (pid,), = self.query(
                "SELECT pid FROM pg_stat_activity WHERE datname = "
                "current_database() AND starts_with(query, 'LISTEN')")
            other = self.otherServer()
            assert self.server.terminate(pid)
            self.waitForListener(woken)
            other.add('echo', '1', 'queued', None, 1.0)
            assert woken.wait(1.0)
        finally:
            stop()

    # Losing the database

    def test_a_lost_connection_is_replaced_on_the_next_call(self):
        """A connection the server ended (a restart, a failover) is
        replaced without the caller noticing, and the log says so."""
        self.add()
        before = self.store.connections.connection().info.backend_pid
        assert self.server.terminate(before)
        events = []
        globalLogPublisher.addObserver(events.append)
        try:
            assert self.add() == 2
        finally:
            globalLogPublisher.removeObserver(events.append)
        assert self.store.connections.connection().info.backend_pid != before
        assert self.store.count() == 2
        assert [event['log_format'] for event in events
                if event.get('log_namespace', '').endswith(
                    'PostgreSQLConnections')] == [
            'Lost the connection to {where} ({error}); reconnecting']

    def test_a_database_that_went_away_is_StoreUnavailable(self):
        """A store whose database cannot be reached any more raises
        StoreUnavailable naming the database."""
        self.add()
        dbname = conninfo_to_dict(self.dsn)['dbname']
        self.server.dropDatabase(dbname)
        with pytest.raises(StoreUnavailable, match=dbname):
            self.store.count()

    def test_an_unreachable_server_is_StoreUnavailable(self):
        """A store that cannot connect says where it tried, never with the
        password."""
        started = time.monotonic()
        with pytest.raises(StoreUnavailable) as info:
            PostgreSQLJobStore('postgresql://someone:s3cret@127.0.0.1:1/'
                               'jobsdb?connect_timeout=2')
        message = str(info.value)
        assert "'jobsdb' on 127.0.0.1:1" in message
        assert 's3cret' not in message
        assert time.monotonic() - started < PATIENCE
