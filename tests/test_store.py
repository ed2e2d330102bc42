"""The store contract on the embedded stores, and what only SQLite does."""

import sqlite3

import pytest

from remotetask.errors import StoreUnavailable
from remotetask.store import MemoryJobStore, SQLiteJobStore, openStore
from remotetask.store.sqlite import MIGRATIONS
from tests.storecontract import StoreContractTests


class TestMemoryJobStore(StoreContractTests):

    def makeStore(self, tmp_path):
        return MemoryJobStore()


class TestSQLiteJobStore(StoreContractTests):

    def makeStore(self, tmp_path):
        return SQLiteJobStore(tmp_path / 'jobs.sqlite')

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
        assert self.store._connection().execute(
            'PRAGMA synchronous').fetchone() == {'synchronous': 1}

    def test_claim_uses_an_index(self):
        """Claiming the next queued job reads an index, not the table."""
        plan = self.store._connection().execute(
            'EXPLAIN QUERY PLAN ' + __import__(
                'remotetask.store.sqlite', fromlist=['QUERIES']
            ).QUERIES['claim_queued_jobs'],
            dict(now=1.0, token='t', started=1.0, claimed=1.0,
                 limit=5, event=None, keep=10)).fetchall()
        details = ' '.join(row['detail'] for row in plan)
        assert 'USING INDEX jobs_by_status' in details
        assert 'SCAN jobs' not in details.replace('SCAN jobs USING', '')

    @pytest.mark.parametrize('query, index', [
        ('due_cron_job', 'jobs_scheduled'),
        ('claim_delayed_jobs', 'jobs_scheduled'),
        ('unscheduled_jobs', 'jobs_scheduled'),
        ('purge_jobs', 'jobs_finished')])
    def test_scheduled_and_retention_queries_seek_their_index(self, query,
                                                              index):
        """Cron, delayed and retention queries seek a partial index and
        sort nothing, however many jobs are due (found by bench/store.py:
        without it a claim sorted every due job)."""
        from remotetask.store.sqlite import QUERIES
        plan = self.store._connection().execute(
            'EXPLAIN QUERY PLAN ' + QUERIES[query],
            dict(now=1.0, token='t', started=1.0, claimed=1.0,
                 status='completed', before=1.0, limit=5, event=None,
                 keep=10)).fetchall()
        details = ' '.join(row['detail'] for row in plan)
        assert f'INDEX {index}' in details
        assert 'TEMP B-TREE' not in details

    def test_unwritable_file_is_a_clear_error(self, tmp_path):
        """A store that cannot be opened says which file and why."""
        with pytest.raises(StoreUnavailable, match='nowhere'):
            SQLiteJobStore(tmp_path / 'nowhere' / 'jobs.sqlite')

    def test_bad_synchronous_is_refused(self, tmp_path):
        """Only the levels that keep committed writes are accepted."""
        with pytest.raises(ValueError, match='OFF'):
            SQLiteJobStore(tmp_path / 'x.sqlite', synchronous='OFF')


def test_openStore_understands_the_command_line_forms(tmp_path):
    """--store values: memory:, sqlite:PATH, and a bare path."""
    assert isinstance(openStore('memory:'), MemoryJobStore)
    store = openStore(f'sqlite:{tmp_path}/a.sqlite')
    assert isinstance(store, SQLiteJobStore)
    assert store.path == f'{tmp_path}/a.sqlite'
    store.close()
    with pytest.raises(ValueError):
        openStore('sqlite:')
