"""What the permission tests share: a users file of an admin, two callers
and a viewer, their roles file, and clients that log in as each."""

import base64
import contextlib
import json
import time
import xmlrpc.client

from tests.acceptance.daemon import NOT_PERMITTED, Daemon, request

USERS = dict(admin='admin-pw', shop='shop-pw', reports='reports-pw',
             monitor='monitor-pw')
ROLES = """\
# USER    ROLE     TASKS
admin     admin
shop      caller   echo, sleep    # the web shop
reports   caller   echo
monitor   viewer
"""


def writeFiles(directory, roles=ROLES):
    """The users and roles files in ``directory``; their paths."""
    users = directory / 'users'
    users.write_text(''.join(f'{user}:{password}\n'
                             for user, password in USERS.items()))
    rolesFile = directory / 'roles'
    rolesFile.write_text(roles)
    return users, rolesFile


def proxy(daemon, user, password=None):
    """An XML-RPC client of ``daemon`` logged in as ``user`` (its password
    from USERS unless given: a token, say)."""
    password = USERS[user] if password is None else password
    return daemon.proxy(user, password)


def send(daemon, path, authorization, method='GET', body=None,
         headers=None):
    """``(status, parsed JSON or text)`` of one request to ``daemon``."""
    status, _, data = request(daemon, method, path, body, dict(
        headers or {}, Authorization=authorization))
    try:
        return status, json.loads(data)
    except ValueError:
        return status, data.decode('utf-8', 'replace')


def login(daemon, user, password, host='127.0.0.1'):
    """GET /api/summary with these credentials from ``host``: the status
    and the seconds the answer took."""
    started = time.monotonic()
    status, _, _ = request(daemon, 'GET', '/api/summary', host=host,
                           headers={'Authorization': basic(user, password)})
    return status, time.monotonic() - started


def basic(user, password=None):
    password = USERS[user] if password is None else password
    return 'Basic ' + base64.b64encode(
        f'{user}:{password}'.encode()).decode()


def bearer(token):
    return f'Bearer {token}'


def refusedWithin(check, seconds):
    """Poll ``check()`` (True once refused) for at most ``seconds``;
    the seconds it took, or None if it never was."""
    started = time.monotonic()
    for _ in range(int(seconds / 0.02) + 1):
        if check():
            return time.monotonic() - started
        if time.monotonic() - started > seconds:
            break
        time.sleep(0.02)
    return None


def allowedWithin(call, seconds, *args):
    """Call ``call(*args)`` until it is not refused with fault 13, for at
    most ``seconds`` (logins are remembered for half a second); its
    answer."""
    deadline = time.monotonic() + seconds
    for _ in range(int(seconds / 0.02) + 1):
        try:
            return call(*args)
        except xmlrpc.client.Fault as refused:
            if refused.faultCode != NOT_PERMITTED or \
                    time.monotonic() > deadline:
                raise
        time.sleep(0.02)
    raise AssertionError(f'{call} still refused after {seconds} s')


@contextlib.contextmanager
def rolesDaemon(directory):
    """A daemon in ``directory`` with the users and roles files, and no
    login delay (a test's failed logins would slow the next tests);
    killed afterwards."""
    users, roles = writeFiles(directory)
    started = Daemon(str(directory), args=[
        '--workers=1', f'--users={users}', f'--roles={roles}',
        '--login-delay=0']).start()
    try:
        yield started
    finally:
        started.kill()
