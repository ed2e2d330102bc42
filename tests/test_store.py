"""The store contract on the embedded stores, and what only SQLite does."""

import json
import os
import re
import sqlite3

import pytest

from remotetask.errors import StoreUnavailable
from remotetask.interfaces import ISharedJobStore
from remotetask.server.cluster.cluster import isShared
from remotetask.store import (
    SQLiteJobStore, defaultStoreFile, describeStore,
    openStore, parseStore)
from remotetask.store.sqlite import MIGRATIONS
from tests.ownercontract import OwnerContractTests
from tests.storecontract import StoreContractTests
from tests.threads import runThreads


class TestSQLiteInMemory(StoreContractTests, OwnerContractTests):

    def makeStore(self, tmp_path):
        return openStore('memory:', serverId='here')

    def test_each_store_has_a_database_of_its_own(self):
        """Two stores in memory share nothing, and a store's jobs stay
        while it is open, whichever threads used it and left."""
        jobid = self.add()
        other = openStore('memory:')
        try:
            assert other.count() == 0
        finally:
            other.close()
        assert runThreads(lambda index: self.store.get(jobid), 3) == []
        assert self.store.get(jobid)['status'] == 'queued'

    def test_is_not_shared(self):
        """A store in memory is one server's alone: no ISharedJobStore,
        so the daemon runs no heartbeats nor recovery of others' jobs."""
        assert not ISharedJobStore.providedBy(self.store)
        assert not isShared(self.store)

    def test_no_lock_file(self, tmp_path, monkeypatch):
        """A store in memory takes no file lock and writes no file."""
        monkeypatch.chdir(tmp_path)
        store = openStore('memory:')
        store.close()
        assert store.lock is None
        assert list(tmp_path.iterdir()) == []


class TestSQLiteJobStore(StoreContractTests, OwnerContractTests):

    def makeStore(self, tmp_path):
        return SQLiteJobStore(tmp_path / 'jobs.sqlite', serverId='here')

    def test_jobs_survive_reopening(self, tmp_path):
        """What one store object committed, a new one on the file reads."""
        jobid = self.add(input='"kept"')
        reopened = SQLiteJobStore(tmp_path / 'jobs.sqlite')
        try:
            assert reopened.get(jobid)['input'] == '"kept"'
        finally:
            reopened.close()

    def test_settings(self, tmp_path):
        """The file is in WAL mode with the chosen synchronous level and
        at the newest schema version."""
        connection = sqlite3.connect(tmp_path / 'jobs.sqlite')
        assert connection.execute('PRAGMA journal_mode').fetchone() == (
            'wal',)
        assert connection.execute('PRAGMA user_version').fetchone() == (
            len(MIGRATIONS),)
        connection.close()
        assert self.store.schemaVersion == len(MIGRATIONS)
        assert self.store.connections.connection().execute(
            'PRAGMA synchronous').fetchone() == {'synchronous': 1}

    def test_quick_writes_hold_the_lock_or_give_way(self):
        """With synchronous NORMAL the store offers quick writes: a
        thread that finds the write lock free holds it (and writes) with
        its autocheckpoint off; one that finds it held writes nothing.
        A checkpoint then moves the log into the file."""
        import threading
        from zope.interface.verify import verifyObject
        from remotetask.interfaces import IQuickWrites
        assert verifyObject(IQuickWrites, self.store)
        with self.store.writingNow() as now:
            assert now
            jobid = self.add()
            other = []

            def tryWriting():
                with self.store.writingNow() as held:
                    other.append(held)
            thread = threading.Thread(target=tryWriting)
            thread.start()
            thread.join(10)
            assert other == [False]
        assert self.store.connections.connection().execute(
            'PRAGMA wal_autocheckpoint').fetchone() == {
                'wal_autocheckpoint': 0}
        self.store.checkpoint()
        assert self.store.get(jobid)['status'] == 'queued'

    def plan(self, query):
        """EXPLAIN QUERY PLAN of the named query: ``[(id, parent,
        detail)]``."""
        from remotetask.store.sqlite import QUERIES
        return [(row['id'], row['parent'], row['detail'])
                for row in self.store.connections.connection().execute(
                    'EXPLAIN QUERY PLAN ' + QUERIES[query], dict(
                        now=1.0, token='t', started=1.0, claimed=1.0,
                        server=None, status='completed', before=1.0,
                        limit=5, allowed='{"a": 2, "b": 5}',
                        tasks='["a", "b"]', task='a', key='k', id=1,
                        ids='[1, 2]',
                        event=None, keep=10))]

    @pytest.mark.parametrize('query, index', [
        ('claim_queued_jobs', 'jobs_queued (task=?)'),
        ('claim_queued_any', 'jobs_queued (task=?)'),
        ('claim_delayed_jobs', 'jobs_scheduled (status=? AND due<?)')])
    def test_a_claim_seeks_each_tasks_queue_and_sorts_no_backlog(
            self, query, index):
        """A claim reads each task's jobs through an index, in the order it
        takes them (priority, then id; due time), and stops after the
        claim's limit: the only sorts rank the few candidates, never the
        queue, however many jobs wait (bench/store.py shows it at a
        million)."""
        plan = self.plan(query)
        seeks = [(node, parent) for node, parent, detail in plan
                 if detail == f'SEARCH jobs USING INDEX {index}']
        assert len(seeks) == 1
        node, parent = seeks[0]
        beside = [detail for _, up, detail in plan if up == parent]
        assert 'CORRELATED LIST SUBQUERY' in ' '.join(
            detail for id_, _, detail in plan if id_ == parent)
        assert not any('TEMP B-TREE' in detail for detail in beside)
        assert not any(detail.startswith('SCAN jobs') or
                       detail.startswith('SCAN job ')
                       for _, _, detail in plan)

    def test_a_claim_of_one_task_is_one_seek_of_its_queue(self):
        """A claim of one task's queued jobs reads them through
        jobs_queued in the order it takes them, and sorts nothing."""
        details = [detail for _, _, detail in
                   self.plan('claim_queued_task')]
        assert 'SEARCH jobs USING INDEX jobs_queued (task=?)' in details
        assert not any('TEMP B-TREE' in detail or 'SCAN' in detail
                       for detail in details)

    @pytest.mark.parametrize('limit', [4, 1])
    @pytest.mark.parametrize('allowed', [
        {'a': 4}, {'b': 2}, {'a': 4, 'b': 4, 'c': 4}, {'c': 4, 'a': 4}])
    def test_the_cheaper_claims_take_what_the_general_one_does(
            self, allowed, limit):
        """claim_queued_task (one task), claim_queued_any (no limit holds
        a task back) and claim_queued_first (one job), which the store
        picks for most claims, take the very jobs that claim_queued_jobs
        would, in its order: due ones only, by priority, then id, across
        the tasks allowed."""
        from remotetask.store.sqlite import QUERIES
        from remotetask.store.sqliteclaim import SQLiteClaim
        for index in range(15):
            self.store.add('abc'[index % 3], '1', 'queued', None, 1.0,
                           priority=index % 4 - 2,
                           due=50.0 if index in (3, 7, 11) else None)
        claimed = dict(now=10.0, token='t', started=None, claimed=10.0,
                       server=None, keep=10, event=None)
        allowed = {task: min(count, limit) for task, count in
                   allowed.items()}
        name, params = SQLiteClaim._batchQuery('queued', allowed, limit)
        assert name == ('claim_queued_first' if limit == 1 else
                        'claim_queued_task' if len(allowed) == 1
                        else 'claim_queued_any')
        taken = {}
        with self.store.transaction() as connection:
            for query, given in ((name, params), ('claim_queued_jobs', dict(
                    allowed=json.dumps(allowed), limit=limit))):
                connection.execute('SAVEPOINT probe')
                rows = SQLiteClaim(connection, QUERIES, claimed)._inOrder(
                    'queued', connection.execute(
                        QUERIES[query], dict(claimed, **given)).fetchall())
                taken[query] = [(row['id'], row['task'], row['priority'],
                                 row['events']) for row in rows]
                connection.execute('ROLLBACK TO probe')
                connection.execute('RELEASE probe')
        assert len(taken[name]) == min(limit, sum(allowed.values()))
        assert taken[name] == taken['claim_queued_jobs']

    def test_a_claim_of_one_job_builds_two_temporary_b_trees(self):
        """claim_queued_first seeks each task's first queued job and
        updates one rowid: of the temporary b-trees claim_queued_any
        builds on every claim (the IN list, the rows to update, and one
        per task for its candidates), only the one-row sort across the
        tasks and RETURNING's are left, about 10,000 instructions each
        (the claim of every single add)."""
        from remotetask.store.sqlite import QUERIES

        def ephemeral(name):
            names = set(re.findall(r':(\w+)', QUERIES[name]))
            return [row['opcode'] for row in
                    self.store.connections.connection().execute(
                        'EXPLAIN ' + QUERIES[name],
                        {param: None for param in names})
                    if row['opcode'] in ('OpenEphemeral', 'SorterOpen')]
        assert len(ephemeral('claim_queued_first')) == 2
        assert len(ephemeral('claim_queued_any')) == 5
        details = [detail for _, _, detail in
                   self.plan('claim_queued_first')]
        assert 'SEARCH jobs USING INDEX jobs_queued (task=?)' in details
        assert 'SEARCH jobs USING INTEGER PRIMARY KEY (rowid=?)' in details
        assert not any(detail.startswith('SCAN job')
                       for detail in details)

    @pytest.mark.parametrize('query, index', [
        ('due_cron_job', 'jobs_scheduled'),
        ('unscheduled_jobs', 'jobs_scheduled'),
        ('purge_jobs', 'jobs_finished'),
        ('keyed_job', 'jobs_key'),
        ('uncounted_ends', 'dependencies_after'),
        ('running_counts', 'jobs_by_status_task'),
        ('claimable_tasks', 'jobs_by_status_task (status=? AND task>?)')])
    def test_scheduled_and_retention_queries_seek_their_index(self, query,
                                                              index):
        """Cron, retention, unique-key and limit queries seek an index and
        sort nothing, however many jobs are due (found by bench/store.py:
        without it a claim sorted every due job); a claim of any task
        finds the queued tasks one seek each."""
        details = ' '.join(detail for _, _, detail in self.plan(query))
        assert f'INDEX {index}' in details
        assert 'SCAN jobs' not in details
        assert 'TEMP B-TREE FOR ORDER BY' not in details

    def test_a_single_end_looks_for_its_dependents_through_their_index(
            self):
        """finish_one, the end of a plain job, asks whether the job has
        dependents still to count through dependencies_after and finds
        its row by id: nothing it does grows with the jobs or edges."""
        from remotetask.store.sqlite import QUERIES
        # ?1 id, ?2 token, ?3 status, ?7 now, ?14 keep, ?16 room.
        params = (1, 't', 'completed', None, None, None, 1.0, None, None,
                  None, None, None, None, 10, None, 248)
        details = [row['detail'] for row in
                   self.store.connections.connection().execute(
                       'EXPLAIN QUERY PLAN ' + QUERIES['finish_one'],
                       params)]
        assert any('dependencies_after' in detail for detail in details)
        assert any('INTEGER PRIMARY KEY' in detail for detail in details)
        assert not any(detail.startswith('SCAN') for detail in details)

    def test_unwritable_file_is_a_clear_error(self, tmp_path):
        """A store that cannot be opened says which file and why."""
        with pytest.raises(StoreUnavailable, match='nowhere'):
            SQLiteJobStore(tmp_path / 'nowhere' / 'jobs.sqlite')

    def test_bad_synchronous_is_refused(self, tmp_path):
        """Only the levels that keep committed writes are accepted."""
        with pytest.raises(ValueError, match='OFF'):
            SQLiteJobStore(tmp_path / 'x.sqlite', synchronous='OFF')


@pytest.mark.parametrize('where', ['memory:', 'file'])
def test_a_batch_of_adds_gets_the_ids_of_its_own_rows(tmp_path, where):
    """addMany() inserts the runs of entries without a key as a set
    (sqliteadd.py) and works out their ids rather than reading them: each
    id it answers is the row of its own entry, in order, around keyed
    entries (one taken, one taken earlier in the batch), and after
    clean() removed the newest jobs no id is given again."""
    store = openStore('memory:' if where == 'memory:'
                      else f'sqlite:{tmp_path / "jobs.sqlite"}')
    try:
        held = store.add('echo', '"held"', 'queued', None, 1.0, key='k')
        gone = store.addMany([('echo', '"gone"', 'error', None)] * 3, 1.0)
        store.clean(['error'])
        entries = [('echo', f'"{n}"', 'queued', None) for n in range(3)] + [
            ('echo', '"k"', 'queued', None, 0, 'k'),
            ('echo', '"3"', 'queued', None),
            ('echo', '"j"', 'queued', None, 0, 'j'),
            ('echo', '"j again"', 'queued', None, 0, 'j')] + [
            ('echo', f'"{n}"', 'queued', None) for n in range(4, 7)]
        ids = store.addMany(entries, 2.0)
        new = [jobid for jobid, entry in zip(ids, entries)
               if len(entry) == 4]
        assert new == sorted(new) and new[0] > gone[-1]
        assert len(set(new)) == 7
        assert ids[3] == held and ids[6] == ids[5]
        assert [store.get(jobid)['input'] for jobid in ids] == [
            entry[1] for entry in entries[:3]] + ['"held"', '"3"', '"j"',
                                                  '"j"', '"4"', '"5"', '"6"']
    finally:
        store.close()


def test_a_failed_write_rolls_back_frees_the_lock_and_says_why(tmp_path):
    """A write that raises leaves nothing written and the write lock
    free for another thread, and raises what it raised; one that SQLite
    refuses is StoreUnavailable and starts an outage, which a commit
    ends (once it has settled)."""
    store = SQLiteJobStore(tmp_path / 'jobs.sqlite')
    store.outage.settle = 0.0
    try:
        with pytest.raises(ValueError, match='mine'):
            with store.transaction():
                store.add('echo', '1', 'queued', None, 1.0)
                raise ValueError('mine')
        assert store.count() == 0 and not store.outage.down
        with pytest.raises(StoreUnavailable, match='no such table'):
            with store.transaction() as connection:
                store.add('echo', '1', 'queued', None, 1.0)
                connection.execute('DELETE FROM nosuchtable')
        assert store.count() == 0 and store.outage.down
        assert runThreads(lambda index: store.add(
            'echo', '2', 'queued', None, 1.0), 1) == []
        assert store.count() == 1 and not store.outage.down
    finally:
        store.close()


def test_openStore_understands_the_command_line_forms(tmp_path):
    """--store values: memory:, sqlite:PATH, and a bare path."""
    memory = openStore('memory:')
    memory.close()
    assert isinstance(memory, SQLiteJobStore) and memory.path == ':memory:'
    store = openStore(f'sqlite:{tmp_path}/a.sqlite')
    assert isinstance(store, SQLiteJobStore)
    assert store.path == f'{tmp_path}/a.sqlite'
    store.close()
    with pytest.raises(ValueError):
        openStore('sqlite:')


@pytest.mark.parametrize('spec', ['mysql:jobs', 'postgresq://h/db',
                                  'redis://localhost'])
def test_an_unknown_kind_of_store_is_refused(spec, tmp_path,
                                             monkeypatch):
    """A --store value with a scheme that is not sqlite, memory or
    postgresql is a ValueError naming the kinds there are, and creates
    no file."""
    monkeypatch.chdir(tmp_path)
    with pytest.raises(ValueError, match='unknown kind of store.*sqlite:'
                                         'FILE, memory: or a postgresql'):
        openStore(spec)
    assert list(tmp_path.iterdir()) == []


def test_a_sqlite_file_name_is_made_absolute(tmp_path, monkeypatch):
    """A relative SQLite file is taken from the working directory of the
    moment, so that the name logged says where it really is."""
    monkeypatch.chdir(tmp_path)
    assert parseStore('sqlite:jobs.sqlite') == (
        'sqlite', str(tmp_path / 'jobs.sqlite'))
    assert parseStore('jobs.sqlite') == (
        'sqlite', str(tmp_path / 'jobs.sqlite'))
    assert parseStore('memory:') == ('memory', None)


def test_the_default_store_file_is_under_the_user_data_directory():
    """$XDG_DATA_HOME/remotetask/jobs.sqlite, else ~/.local/share/..."""
    assert defaultStoreFile({'XDG_DATA_HOME': '/srv/data'}) == \
        '/srv/data/remotetask/jobs.sqlite'
    home = os.path.expanduser('~')
    assert defaultStoreFile({}) == \
        f'{home}/.local/share/remotetask/jobs.sqlite'


def test_a_store_is_described_without_its_password(tmp_path):
    """The start-up log names the file, or the database, never the
    password (in the URL or as a parameter)."""
    assert describeStore(f'sqlite:{tmp_path}/a.sqlite') == \
        f'SQLite file {tmp_path}/a.sqlite'
    assert describeStore('memory:').startswith('in memory')
    assert describeStore(
        'postgresql://jobs:s3cret@db.example:5433/queue?sslmode=require'
        '&password=other') == \
        'PostgreSQL postgresql://jobs@db.example:5433/queue?sslmode=require'


def test_a_store_on_a_unix_socket_is_described_as_written():
    """postgresql:///db?host=/run/postgresql (no host before the path) is
    logged with its //, and the socket directory readable, not as
    postgresql:/db or %2Frun%2Fpostgresql."""
    assert describeStore(
        'postgresql:///queue?host=/run/postgresql&password=x') == \
        'PostgreSQL postgresql:///queue?host=/run/postgresql'
    assert describeStore('postgresql://u:p@/queue') == \
        'PostgreSQL postgresql://u@/queue'


def test_a_refused_privilege_is_advised_in_one_line():
    """PostgreSQL's refusal (a message with a LINE of SQL under it) is
    one line: the refusal, then the fix for the schema (own the database,
    or GRANT CREATE) or for tables another role owns (REASSIGN OWNED);
    names that are not plain identifiers are quoted."""
    from remotetask.store.pgschema import advice
    schema = Exception('permission denied for schema public\nLINE 3: '
                       'CREATE TABLE IF NOT EXISTS remotetask_schema (\n  ^')
    assert advice(schema, 'Jobs', 'queue') == (
        "permission denied for schema public: the role 'Jobs' may not "
        "create remotetask's tables in database 'queue'; make it the owner "
        'of the database (CREATE DATABASE queue OWNER "Jobs") or grant it '
        'the privilege: GRANT CREATE ON SCHEMA public TO "Jobs"')
    table = Exception('must be owner of table remotetask_jobs')
    line = advice(table, 'jobs', 'queue')
    assert line.startswith('must be owner of table remotetask_jobs: ')
    assert 'REASSIGN OWNED BY THEIR_OWNER TO jobs' in line
    assert '\n' not in line


def test_append_event_keeps_what_events_append_keeps():
    """SQLite's remotetask_append_event (appendEvent) splices an event
    into the stored text while the bound is far, and gives the very
    events that events.append gives, at and past the bound too, details
    holding objects and braces included."""
    import json
    from remotetask.core import events
    from remotetask.store.sqliteconnections import appendEvent
    spliced = appended = None
    for number in range(8):
        event = json.dumps({'n': number, 'detail': {'why': '{'}})
        spliced = appendEvent(spliced, event, 5)
        appended = events.append(appended, event, 5)
        assert json.loads(spliced) == json.loads(appended)
    assert [event['n'] for event in json.loads(spliced)] == [0, 4, 5, 6, 7]
    assert appendEvent(spliced, None, 5) is spliced


def test_append_events_appends_both_as_append_event_does_each():
    """A run's end appends its start and its end event in one call
    (remotetask_append_events): the very text that appendEvent gives
    for one after the other, while the bound is far and across it, and
    with either event missing."""
    import json
    from remotetask.store.sqliteconnections import appendEvent, appendEvents
    stored = None
    for number in range(6):
        first = json.dumps({'n': number, 'detail': {'why': '{'}})
        second = json.dumps({'n': number, 'end': True})
        for start, end in ((first, second), (None, second), (first, None)):
            assert appendEvents(stored, start, end, 5) == appendEvent(
                appendEvent(stored, start, 5), end, 5)
        stored = appendEvents(stored, first, second, 5)
    assert [event['n'] for event in json.loads(stored)] == [0, 4, 4, 5, 5]
    assert appendEvents('[]', '{"a":1}', '{"b":2}', 5) == \
        '[{"a":1},{"b":2}]'


@pytest.mark.parametrize('keep', [2, 5, 100])
def test_a_batchs_plain_ends_store_the_events_an_end_alone_stores(
        tmp_path, keep):
    """The plain ends of a batch (finish_runs, whose events are appended
    as text made in Python) store the very events, text and all, that an
    end written alone stores (finish_one: SQLite's json_set and
    remotetask_append_events), run after run, far from the bound and
    across it, with the start given with the end or recorded before it;
    a retry is left to finish_job."""
    from remotetask.core import events
    from remotetask.store.sqlitefinish import _plainEnd
    store = SQLiteJobStore(tmp_path / 'jobs.sqlite')
    store.maxEvents = keep
    try:
        added = events.make(events.ADDED, 1.5, 'here')
        batched = store.addMany([('echo', '1', 'queued', None)] * 2, 1.0,
                                added)
        alone = store.add('echo', '1', 'queued', None, 1.0, event=added)
        server = 'sérver "✓"'
        for number in range(6):
            rows = {row['id']: row for row in store.claim(
                2.0, 3, f't{number}', None, scheduled=False,
                tasks=['echo'])}
            assert set(rows) == {*batched, alone}
            start = events.make(events.STARTED, 1e9 + 0.123456789, server)
            end = events.make(events.ENDED, 1e9 + 1, server, attempt=number,
                              status='completed', why='{"x": "✓"}')
            early = number % 2
            if early:
                store.markStarted([(jobid, rows[jobid]['token'])
                                   for jobid in rows], 3.0, event=start)

            def run(jobid):
                return (jobid, rows[jobid]['token'], 'completed', '"out"',
                        None, None, 4.0, None, None, end, None) + (
                            () if early else (3.0, start))
            assert store.finishMany([run(jobid) for jobid in batched]) == \
                [True, True]
            assert store.finishMany([run(alone)]) == [True]
            stored = {store.get(jobid)['events'] for jobid in rows}
            assert len(stored) == 1
            kept = events.decode(stored.pop())
            assert len(kept) == min(keep, 3 + 2 * number)
            assert kept[-1] == json.loads(end)
            assert {store.get(jobid)['attempts'] for jobid in rows} == {
                number + 1}
            for jobid in rows:
                assert store.transition(jobid, {'completed'}, 'queued')
        retry = run(alone)[:7] + (9.0, '{"attempt":1}') + run(alone)[9:]
        assert _plainEnd(retry + (None, None), 0, 'x', 100, 5) is None
    finally:
        store.close()


def test_ends_given_as_short_lists_are_recorded_as_whole_tuples(tmp_path):
    """finishMany takes each run as IJobStore.finish's arguments, the last
    ones left out, in a list as in a tuple: alone (finish_one) and in a
    batch (finish_runs), the end is recorded."""
    store = SQLiteJobStore(tmp_path / 'jobs.sqlite')
    try:
        ids = store.addMany([('echo', '1', 'queued', None)] * 3, 1.0)
        rows = store.claim(2.0, 3, 't', None, scheduled=False,
                           tasks=['echo'])
        runs = [[row['id'], row['token'], 'completed', '"out"', None, None,
                 3.0] for row in rows]
        assert store.finishMany(runs[:1]) == [True]
        assert store.finishMany(runs[1:]) == [True, True]
        assert [store.get(jobid)['status'] for jobid in ids] == [
            'completed'] * 3
        assert [store.get(jobid)['output'] for jobid in ids] == [
            '"out"'] * 3
    finally:
        store.close()


def _newestPaged(store, **filters):
    """The ids ``newest`` gives for ``filters``, page after page of 4
    (each looking at 5 jobs at most) until its cursor runs out."""
    seen, cursor = [], None
    while True:
        rows, cursor = store.newest(before=cursor, limit=4, scan=5,
                                    **filters)
        seen += [row['id'] for row in rows]
        if cursor is None:
            return seen


def _mixedStore(store):
    """Jobs of three tasks in four statuses, interleaved by id (the one
    status index is by status and task: a status's jobs in id order are
    a merge of its tasks'); some queued ones due later."""
    statuses = ['completed', 'error', 'queued', 'processing']
    for index in range(60):
        task = 'abc'[index * 7 % 3]
        status = statuses[index * 5 % 4]
        due = 100.0 + index if status == 'queued' and index % 3 == 0 \
            else None
        store.add(task, f'"{index}"', status, None, 1.0 + index, due=due)
    return [dict(row) for row in store.find(limit=-1)]


@pytest.mark.parametrize('status', ['completed', 'error', 'queued',
                                    'cancelled'])
@pytest.mark.parametrize('task', [None, 'a', 'b'])
def test_a_status_lists_in_id_order_across_its_tasks(tmp_path, status, task):
    """find and newest by status (with or without a task) give the very
    jobs a filter of every job gives, in id order, page by page; the
    oldest due queued job is the one with the lowest id of all tasks."""
    store = SQLiteJobStore(tmp_path / 'jobs.sqlite')
    try:
        every = _mixedStore(store)
        wanted = [row['id'] for row in every if row['status'] == status
                  and (task is None or row['task'] == task)]
        for after, limit in ((0, 100), (0, 4), (wanted[2] if len(
                wanted) > 2 else 0, 3)):
            found = [row['id'] for row in store.find(
                status=status, task=task, after=after, limit=limit)]
            assert found == [i for i in wanted if i > after][:limit]
        assert _newestPaged(store, status=status, task=task) == \
            wanted[::-1]
        due = [row for row in every if row['status'] == 'queued'
               and (row['due'] is None or row['due'] <= 110.0)]
        assert store.oldestQueued(110.0) == (
            due[0]['due'] or due[0]['created'])
    finally:
        store.close()


@pytest.mark.parametrize('task', ['a', 'b', 'nothing'])
def test_a_task_lists_in_id_order_across_its_statuses(tmp_path, task):
    """find and newest by task alone, through the (status, task) index
    (migration 13 dropped the index by task), give the very jobs a filter
    of every job gives, in id order, page by page, with and without a
    text to match."""
    store = SQLiteJobStore(tmp_path / 'jobs.sqlite')
    try:
        every = _mixedStore(store)
        wanted = [row['id'] for row in every if row['task'] == task]
        for after, limit in ((0, 100), (0, 4), (wanted[2] if len(
                wanted) > 2 else 0, 3)):
            found = [row['id'] for row in store.find(
                task=task, after=after, limit=limit)]
            assert found == [i for i in wanted if i > after][:limit]
        for text, matching in ((None, wanted), ('1', [
                row['id'] for row in every
                if row['task'] == task and '1' in row['input']])):
            assert _newestPaged(store, task=task, text=text) == \
                matching[::-1]
    finally:
        store.close()


def test_status_lists_seek_each_task_of_the_status(tmp_path):
    """Listing by status and the queue's oldest job seek the (status,
    task) index once per task, through the id range where there is one,
    on a store SQLite has analysed too: never a scan of the jobs nor a
    sort of a status's jobs."""
    from remotetask.store.sqlite import QUERIES
    store = SQLiteJobStore(tmp_path / 'jobs.sqlite')
    try:
        _mixedStore(store)
        connection = store.connections.connection()
        for analysed in (False, True):
            if analysed:
                connection.execute('ANALYZE')
            for name, seek in (
                    ('find_jobs_by_status', 'task=? AND rowid>?'),
                    ('newest_jobs_by_status', 'task=? AND rowid<?'),
                    ('find_jobs_by_task', 'task=? AND rowid>?'),
                    ('newest_jobs_by_task', 'task=? AND rowid<?'),
                    ('oldest_queued', 'task=?)')):
                details = [row['detail'] for row in connection.execute(
                    'EXPLAIN QUERY PLAN ' + QUERIES[name], dict(
                        status='error', task=None, after=0, before=1000,
                        limit=5, scan=10, text=None, now=1.0))]
                assert any('INDEX jobs_by_status_task (status=? AND '
                           + seek in detail for detail in details), details
                assert not any(detail.startswith('SCAN jobs')
                               for detail in details), details
    finally:
        store.close()


def _fileOfSchema(directory, version, insert):
    """The path of a store file written at schema ``version`` (its
    migrations up to it, no later), holding the rows ``insert`` adds."""
    from remotetask.store.sqliteschema import migrate
    path = directory / 'jobs.sqlite'
    old = sqlite3.connect(path)
    old.row_factory = sqlite3.Row
    migrate(old, [step for step in MIGRATIONS if step[0] <= version])
    old.execute(insert)
    old.commit()
    assert old.execute('PRAGMA user_version').fetchone()[0] == version
    old.close()
    return path


def test_a_file_of_schema_10_migrates_to_one_status_index(tmp_path):
    """A file written before migration 11 opens with its jobs as they
    were, and one status index left (jobs_by_status_task): its jobs
    list by status as before."""
    path = _fileOfSchema(
        tmp_path, 10, "INSERT INTO jobs (task, status, created) VALUES "
        "('a', 'completed', 1.0), ('b', 'error', 2.0), ('a', 'error', 3.0)")
    old = sqlite3.connect(path)
    assert old.execute("SELECT count(*) FROM sqlite_master WHERE "
                       "name = 'jobs_by_status'").fetchone()[0] == 1
    old.close()
    store = SQLiteJobStore(path)
    try:
        assert store.schemaVersion == len(MIGRATIONS) >= 11
        names = {row['name'] for row in store.connections.connection()
                 .execute("SELECT name FROM sqlite_master "
                          "WHERE type = 'index'")}
        assert 'jobs_by_status' not in names
        assert 'jobs_by_status_task' in names
        assert [row['id'] for row in store.find(status='error')] == [2, 3]
        assert store.add('c', '1', 'queued', None, 4.0) == 4
    finally:
        store.close()


@pytest.mark.parametrize('name', [
    'insert_jobs', 'finish_job', 'finish_runs', 'keyed_job', 'key_holder',
    'retry_job', 'notify_end', 'set_status', 'mark_started', 'release_job'])
def test_a_jobs_statements_build_no_b_tree_for_a_partial_index(tmp_path,
                                                                name):
    """The statements every job runs test the conditions of the partial
    indexes (jobs_finished, jobs_key) without building a temporary b-tree
    for them, as SQLite does for an IN list of more than two constants,
    once per run of the statement (migration 12)."""
    from remotetask.store.sqlite import QUERIES
    store = SQLiteJobStore(tmp_path / 'jobs.sqlite')
    try:
        numbered = [int(n) for n in re.findall(r'\?(\d+)', QUERIES[name])]
        params = (None,) * max(numbered) if numbered else {
            param: None for param in re.findall(r':(\w+)', QUERIES[name])}
        opcodes = [row['opcode'] for row in
                   store.connections.connection().execute(
                       'EXPLAIN ' + QUERIES[name], params)]
        assert opcodes
        assert 'OpenEphemeral' not in opcodes
    finally:
        store.close()


def test_a_file_of_schema_11_migrates_to_cheaper_indexes(tmp_path):
    """A file written before migrations 12 and 13 opens with its jobs as
    they were; its unique keys still hold (an add with a key an unfinished
    job holds returns that job), retention still finds its finished jobs,
    through the indexes made again, and its jobs list by task without the
    index by task."""
    path = _fileOfSchema(
        tmp_path, 11,
        "INSERT INTO jobs (task, status, created, key, completed) "
        "VALUES ('a', 'queued', 1.0, 'k', NULL), "
        "('a', 'completed', 2.0, 'k', 5.0), ('b', 'error', 3.0, NULL, 6.0)")
    store = SQLiteJobStore(path)
    try:
        assert store.schemaVersion == len(MIGRATIONS) >= 12
        indexes = {row['name']: row['sql'] for row in
                   store.connections.connection().execute(
                       "SELECT name, sql FROM sqlite_master "
                       "WHERE type = 'index' AND sql IS NOT NULL")}
        assert ' IN ' not in indexes['jobs_key']
        assert ' IN ' not in indexes['jobs_finished']
        assert store.add('a', '2', 'queued', None, 7.0, key='k') == 1
        added = store.add('c', '1', 'queued', None, 8.0)
        assert added > 3
        assert store.purge(['completed', 'error'], 5.5, 10) == 1
        assert [row['id'] for row in store.find()] == [1, 3, added]
        assert 'jobs_by_task' not in indexes
        assert [row['id'] for row in store.find(task='a')] == [1]
    finally:
        store.close()


def test_none_is_bound_as_null_through_its_own_adapter(tmp_path):
    """None, a dozen parameters of every job, finds an adapter at once
    (sqliteconnections.py) instead of sqlite3's failed attribute lookups,
    and is still stored as NULL."""
    store = SQLiteJobStore(tmp_path / 'jobs.sqlite')
    try:
        assert (type(None), sqlite3.PrepareProtocol) in sqlite3.adapters
        connection = store.connections.connection()
        assert connection.execute(
            'SELECT :value IS NULL AS missing, typeof(:value) AS type',
            dict(value=None)).fetchone() == {'missing': 1, 'type': 'null'}
        jobid = store.add('echo', '1', 'queued', None, 1.0)
        assert store.get(jobid)['schedule'] is None
    finally:
        store.close()


@pytest.mark.parametrize('detail', [None, 'x', 'é "quoted" \\ ✓'])
def test_an_add_without_a_key_stores_its_event_as_one_with_a_key(tmp_path,
                                                                 detail):
    """The first event of jobs added without a key (insert_jobs, its array
    made once per batch in Python) is stored as that of a job added with
    one (insert_job, whose array SQLite makes): the same text."""
    from remotetask.core import events
    store = SQLiteJobStore(tmp_path / 'jobs.sqlite')
    try:
        event = events.make(events.ADDED, 1e9 + 0.123456789, 'here',
                            caller=detail)
        plain = store.addMany([('echo', '1', 'queued', None)] * 2, 1.0,
                              event)
        keyed = store.add('echo', '1', 'queued', None, 1.0, key='k',
                          event=event)
        texts = {store.get(jobid)['events'] for jobid in plain + [keyed]}
        assert len(texts) == 1
        assert events.decode(texts.pop()) == [json.loads(event)]
        bare = store.addMany([('echo', '1', 'queued', None)], 1.0)
        assert store.get(bare[0])['events'] is None
    finally:
        store.close()
