"""Issue 22 on a shared PostgreSQL store: two real daemons know the same
API tokens, and a token revoked on one is refused on the other within a
second."""

import hashlib

import psycopg
import pytest

from tests.acceptance.daemon import Daemons, storeURL
from tests.acceptance.permissions import (
    bearer, proxy, refusedWithin, send, writeFiles)


@pytest.fixture
def twoDaemons(postgresqlDsn, tmp_path):
    """Two daemons on the test database, with the users and roles
    files; killed after the test."""
    users, roles = writeFiles(tmp_path)
    daemons = Daemons(tmp_path, store=storeURL(postgresqlDsn), args=[
        '--workers=1', f'--users={users}', f'--roles={roles}',
        '--login-delay=0'])
    try:
        yield [daemons.start(f'--server-id={name}', name=name)
               for name in ('a', 'b')]
    finally:
        daemons.killAll()


def test_a_token_revoked_on_one_server_is_refused_on_the_other(
        twoDaemons):
    """A token made on a works on b at once; revoked on a, b refuses it
    within a second; its jobs are its own on both."""
    a, b = twoDaemons
    token = proxy(a, 'admin').token.create('svc', 'caller', ['echo'])['token']
    assert send(b, '/api/summary', bearer(token))[0] == 200
    jobid = proxy(b, 'svc', token).add('echo', 'on b', True)
    assert proxy(a, 'svc', token).getJob(jobid)['owner'] == 'svc'
    assert send(b, '/api/summary', bearer(token))[0] == 200
    assert proxy(a, 'admin').token.revoke('svc') is True
    took = refusedWithin(
        lambda: send(b, '/api/summary', bearer(token))[0] == 401, 1.0)
    assert took is not None and took <= 1.0


def test_tokens_are_kept_as_hashes_in_postgresql(twoDaemons, postgresqlDsn):
    """The shared table holds the token's SHA-256 and never the token."""
    a, _ = twoDaemons
    token = proxy(a, 'admin').token.create('svc', 'viewer')['token']
    with psycopg.connect(postgresqlDsn) as connection:
        rows = connection.execute(
            'SELECT * FROM remotetask_api_tokens').fetchall()
    assert len(rows) == 1
    assert hashlib.sha256(token.encode()).hexdigest() in rows[0]
    assert not any(token[4:] in str(value) for value in rows[0])
