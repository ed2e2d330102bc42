"""Paging stays fast however many jobs there are: the queries behind the
job list seek through indexes, on SQLite as planned by SQLite itself."""

import pytest

from remotetask.store import SQLiteJobStore
from remotetask.store.sqlite import QUERIES

PARAMS = dict(status='error', task='echo', text='needle', before=500000,
              limit=50, scan=10000, now=1.0)


@pytest.fixture
def store(tmp_path):
    store = SQLiteJobStore(tmp_path / 'jobs.sqlite')
    store.addMany([('echo', '1', 'completed', None)] * 50, 1.0)
    store.connections.connection().execute('ANALYZE')
    yield store
    store.close()


def plan(store, name):
    rows = store.connections.connection().execute('EXPLAIN QUERY PLAN ' + QUERIES[name],
                                       PARAMS).fetchall()
    return [row['detail'] for row in rows]


@pytest.mark.parametrize('name', ['newest_jobs', 'newest_jobs_by_status',
                                  'newest_jobs_by_task', 'oldest_queued'])
def test_pages_seek_and_never_scan_the_jobs(store, name):
    """Every page of the list (any filter, any depth: the cursor is a
    range of an index, never an offset) and the queue's head are index
    searches: no step reads the jobs table or an index from one end."""
    details = plan(store, name)
    assert not [step for step in details if step.startswith('SCAN jobs')]
    assert any(step.startswith('SEARCH jobs') for step in details)


def test_counts_read_one_index_only(store):
    """Counting by status and task reads the (status, task) index alone,
    not the rows with their inputs and outputs."""
    assert plan(store, 'count_by_status_and_task') == [
        'SCAN jobs USING COVERING INDEX jobs_by_status_task']
