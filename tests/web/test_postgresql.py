"""The dashboard on a shared PostgreSQL store: every server sharing it
and the age of its heartbeat (skipped, saying why, without a server)."""

import time

import pytest
import pytest_twisted

from remotetask.store.postgresql import PostgreSQLJobStore
from tests.web.conftest import WebServer


@pytest.fixture
def sharedWeb(tmp_path, postgresqlDsn):
    """The site of server ``a`` and the store of server ``b``, sharing
    one PostgreSQL database."""
    server = WebServer(str(tmp_path), store=PostgreSQLJobStore(
        postgresqlDsn, serverId='a'))
    other = PostgreSQLJobStore(postgresqlDsn, serverId='b')
    yield server, other
    other.close()
    pytest_twisted.blockon(server.stop())


def test_servers_lists_heartbeats_and_running_jobs(postgresqlDsn):
    """servers() gives each server's last heartbeat, the tasks it serves
    and how many jobs it is running, by serverId."""
    a = PostgreSQLJobStore(postgresqlDsn, serverId='a')
    b = PostgreSQLJobStore(postgresqlDsn, serverId='b')
    try:
        a.heartbeat(100.0)
        b.announce({'echo': 'Echo'}, [], 130.0)
        for _ in range(3):
            a.add('echo', '1', 'queued', None, 1.0)
        assert len(b.claim(200.0, 2, 't', None, 200.0)) == 2
        assert [dict(row) for row in a.servers()] == [
            dict(id='a', heartbeat=100.0, tasks={}, running=0),
            dict(id='b', heartbeat=130.0, tasks={'echo': 'Echo'},
                 running=2)]
    finally:
        a.close()
        b.close()


@pytest_twisted.ensureDeferred
async def test_workers_view_lists_the_servers_sharing_the_store(sharedWeb):
    """/api/workers on a shared store lists every server with the age of
    its heartbeat and its running jobs, marking this one; the jobs
    running on another server show as such."""
    web, other = sharedWeb
    now = time.time()
    web.store.heartbeat(now)
    other.heartbeat(now - 12)
    jobid = web.service.add('echo', {})
    assert len(other.claim(now, 1, 'token', None, now)) == 1
    view = (await web.get('/api/workers')).json()
    assert view['server']['id'] == 'a'
    servers = {server['id']: server for server in view['servers']}
    assert (servers['a']['this'], servers['b']['this']) == (True, False)
    assert servers['b']['running'] == 1
    assert 11 < servers['b']['age'] < 60
    assert servers['b']['tasks'] == []
    assert [(job['id'], job['here']) for job in view['running']] == [
        (jobid, False)]
    listed = (await web.get('/api/jobs?status=processing')).json()
    assert [job['id'] for job in listed['jobs']] == [jobid]
