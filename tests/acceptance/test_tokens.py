"""Issue 22 against the real daemon: API tokens made by ``remotetask token
create``, kept as hashes, sent as Bearer tokens or Basic passwords,
listed with their last use, revoked, expired, and guessed."""

import hashlib
import sqlite3
import time

import pytest

from tests.acceptance.daemon import NOT_PERMITTED, cli, fault
from tests.acceptance.permissions import (
    USERS, basic, bearer, proxy, refusedWithin, rolesDaemon, send,
    writeFiles)


@pytest.fixture(scope='module')
def daemon(tmp_path_factory):
    """One daemon for the module, with the users and roles files."""
    with rolesDaemon(tmp_path_factory.mktemp('tokens')) as started:
        yield started


def asAdmin(daemon, *args):
    """``remotetask --url ... ARGS`` as the admin; the CompletedProcess."""
    return cli(daemon, *args, user='admin', password=USERS['admin'])


def create(daemon, name, *options):
    made = asAdmin(daemon, 'token', 'create', name, *options)
    assert made.returncode == 0, made.stderr
    return made.stdout.strip()


def test_a_token_is_printed_once_and_kept_as_its_hash(daemon):
    """token create prints one random token (256 bits) and says it is
    shown once; the store's table holds its SHA-256, never the token."""
    token = create(daemon, 'convert', '--role', 'caller', '--tasks',
                   'echo,sleep', '--expires', '90d')
    assert token.startswith('rtk_') and len(token) == 4 + 43
    assert create(daemon, 'convert2', '--role', 'viewer') != token
    with sqlite3.connect(f'file:{daemon.directory}/jobs.sqlite?mode=ro',
                         uri=True) as connection:
        rows = connection.execute(
            "SELECT * FROM api_tokens WHERE name = 'convert'").fetchall()
    assert len(rows) == 1
    assert hashlib.sha256(token.encode()).hexdigest() in rows[0]
    assert not any(token in str(value) or token[4:] in str(value)
                   for value in rows[0])
    again = asAdmin(daemon, 'token', 'create', 'convert', '--role', 'viewer')
    assert again.returncode == 1 and 'already' in again.stderr


def test_a_token_works_as_bearer_and_as_basic_password(daemon):
    """A caller token adds its tasks as itself over XML-RPC (Basic, its
    name as the user) and lists its jobs over the JSON API (Bearer); it
    may not add other tasks; under another user name it is refused."""
    token = create(daemon, 'thumbs', '--role', 'caller', '--tasks', 'echo')
    server = proxy(daemon, 'thumbs', token)
    jobid = server.add('echo', 'by token', True)
    assert server.getJob(jobid)['owner'] == 'thumbs'
    assert fault(server.add, 'sleep', 1).faultCode == NOT_PERMITTED
    status, page = send(daemon, '/api/jobs', bearer(token))
    assert status == 200
    assert [job['id'] for job in page['jobs']] == [jobid]
    assert send(daemon, '/api/jobs', basic('shop', token))[0] == 401
    assert send(daemon, '/api/jobs', bearer(token + 'x'))[0] == 401
    assert send(daemon, '/api/jobs', bearer('rtk_' + 'A' * 43))[0] == 401


def test_token_list_shows_the_last_use_and_revoke_refuses_it(daemon):
    """token list shows each token's role, tasks and last use (never the
    token); after token revoke the token is refused within a second."""
    token = create(daemon, 'reporting', '--role', 'caller', '--tasks', '*')
    assert send(daemon, '/api/summary', bearer(token))[0] == 200
    listed = asAdmin(daemon, 'token', 'list')
    assert listed.returncode == 0, listed.stderr
    line = next(line for line in listed.stdout.splitlines()
                if line.startswith('reporting '))
    assert line.split()[1:3] == ['caller', '*']
    assert not line.rstrip().endswith('never') and token not in listed.stdout
    assert asAdmin(daemon, 'token', 'revoke', 'reporting').returncode == 0
    took = refusedWithin(lambda: send(daemon, '/api/summary',
                                      bearer(token))[0] == 401, 1.0)
    assert took is not None
    gone = asAdmin(daemon, 'token', 'revoke', 'reporting')
    assert gone.returncode == 1 and 'no token named' in gone.stderr


def test_an_expired_token_is_refused(daemon):
    """A token made to expire in 2 s works, then is refused."""
    made = proxy(daemon, 'admin').token.create('brief', 'viewer', [], 2)
    assert 'expires' in made
    assert send(daemon, '/api/summary', bearer(made['token']))[0] == 200
    assert refusedWithin(lambda: send(daemon, '/api/summary', bearer(
        made['token']))[0] == 401, 10.0) is not None


def test_only_an_admin_manages_tokens(daemon):
    """A caller's and a viewer's token.create, list and revoke are fault
    13; so are a caller token's."""
    token = create(daemon, 'limited', '--role', 'caller', '--tasks', 'echo')
    for server in (proxy(daemon, 'shop'), proxy(daemon, 'monitor'),
                   proxy(daemon, 'limited', token)):
        assert fault(server.token.create, 'x', 'admin').faultCode == \
            NOT_PERMITTED
        assert fault(server.token.list).faultCode == NOT_PERMITTED
        assert fault(server.token.revoke, 'limited').faultCode == \
            NOT_PERMITTED


def test_guessing_tokens_is_slowed_as_guessing_passwords(startDaemon,
                                                         tmp_path):
    """After wrong Bearer tokens from an address, its next attempt, a
    good token included, waits the login delay (doubling); each failure
    is logged without the token."""
    users, roles = writeFiles(tmp_path)
    daemon = startDaemon('--workers=1', f'--users={users}',
                         f'--roles={roles}', '--login-delay=0.4')
    token = proxy(daemon, 'admin').token.create('svc', 'viewer')['token']
    guesses = ['rtk_' + str(n) * 43 for n in range(3)]
    for guess in guesses:
        assert send(daemon, '/api/summary', bearer(guess))[0] == 401
    started = time.monotonic()
    assert send(daemon, '/api/summary', bearer(token))[0] == 200
    assert time.monotonic() - started >= 0.4 * 4 * 0.9
    log = daemon.log()
    assert log.count("Failed login for user '(bearer token)'") == 3
    assert not any(guess in log for guess in guesses)
