"""Issue 14 against the real daemon: answers that always come (3), one
input check for both APIs with whatever is stored readable through both
(4), deep JSON (9), and the Host allow-list (6).

Every request here has a client timeout: an answer that never comes
fails the test with that timeout instead of hanging it.
"""

import json
import re
import xmlrpc.client

import pytest

from remotetask import SimpleTask, TaskService
from remotetask.store import SQLiteJobStore
from tests import tasks
from tests.acceptance.daemon import (
    INVALID, UNSTORABLE, cli, csrf, getJSON, postJSON, request)


def storeBeforeStart(directory, *inputs):
    """Jobs of ``echo`` with ``inputs``, added through the Python API to
    the store the daemon will open (as an older version, or a program
    using the Python API, may have left them); their ids."""
    store = SQLiteJobStore(f'{directory}/jobs.sqlite')
    service = TaskService(store=store)
    service.registry.register('echo', SimpleTask(tasks.echo))
    ids = [service.add('echo', value, startLater=True) for value in inputs]
    store.close()
    return ids


# 3: every request answered

def test_a_lone_surrogate_is_refused_at_add_and_a_stored_one_is_read(
        startDaemon, tmp_path):
    """Issue 14, 3. ``POST /api/jobs`` with an input holding a lone
    surrogate, or a field named by one, is answered at once with a 400
    saying why (it was accepted, or never answered). A job that holds one
    in the store is answered by ``GET /api/jobs/ID`` (the surrogate as a
    JSON escape) and by ``getJob`` (as a backslash escape)."""
    stored, = storeBeforeStart(tmp_path, {'name': 'caf\ud800'})
    daemon = startDaemon('--workers=1')
    token = csrf(daemon)
    status, answer = postJSON(
        daemon, '/api/jobs', {'task': 'echo', 'input': 'caf\ud800'}, token)
    assert (status, answer['code']) == (400, INVALID)
    assert "'\\ud800'" in answer['error'] and 'XML' in answer['error']
    status, answer = postJSON(daemon, '/api/jobs',
                              {'task': 'echo', '\ud800': 1}, token)
    assert (status, answer['code']) == (400, INVALID)
    assert "unknown members: '\\ud800'" in answer['error']
    assert getJSON(daemon, f'/api/jobs/{stored}')['input'] == {
        'name': 'caf\ud800'}
    listed = getJSON(daemon, '/api/jobs')['jobs']
    assert [job['id'] for job in listed] == [stored]
    job = daemon.proxy().getJob(stored)
    assert job['input'] == {'name': 'caf\\ud800'}
    assert daemon.process.poll() is None


# 4: one input check, and whatever is stored readable

def test_control_characters_are_refused_on_both_apis_and_stored_ones_read(
        startDaemon, tmp_path):
    """Issue 14, 4. An input holding ``"\\u001b[31m"`` is refused at add
    on the JSON API (400, Fault 3's code, naming the character) as on
    XML-RPC (Fault 3); a job already holding one in the store (and one
    beside it) is listed by ``getJobs``, read by ``getJob``, shown by
    ``remotetask jobs`` and ``show`` and by the dashboard's JSON view,
    where it had made every page that held it fail with Fault 3."""
    red, plain = storeBeforeStart(tmp_path, {'colour': '\x1b[31mred'},
                                  'plain')
    daemon = startDaemon('--workers=1')
    status, answer = postJSON(
        daemon, '/api/jobs', {'task': 'echo', 'input': {'colour': '\x1b[31m'}})
    assert (status, answer['code']) == (400, INVALID)
    assert "The input['colour'] holds the character '\\x1b'" in \
        answer['error']
    body = (b"<?xml version='1.0'?><methodCall><methodName>add</methodName>"
            b'<params><param><value>echo</value></param><param><value>'
            b'\x1b[31m</value></param></params></methodCall>')
    status, _, answer = request(daemon, 'POST', '/', body,
                                {'Content-Type': 'text/xml'})
    with pytest.raises(xmlrpc.client.Fault) as refused:
        xmlrpc.client.loads(answer)
    assert refused.value.faultCode == INVALID
    server = daemon.proxy()
    page = server.getJobs({})
    assert [job['id'] for job in page['jobs']] == [red, plain]
    assert page['jobs'][0]['input'] == {'colour': '\\x1b[31mred'}
    assert server.getJob(red)['input'] == {'colour': '\\x1b[31mred'}
    listing = cli(daemon, 'jobs')
    assert listing.returncode == 0, listing.stderr
    assert re.search(rf'^{red} +echo', listing.stdout, re.M)
    shown = cli(daemon, 'show', str(red))
    assert shown.returncode == 0, shown.stderr
    assert '\\\\x1b[31mred' in shown.stdout and '\x1b' not in shown.stdout
    assert getJSON(daemon, f'/api/jobs/{red}')['input'] == {
        'colour': '\x1b[31mred'}
    previews = {job['id']: job['input'] for job in
                getJSON(daemon, '/api/jobs')['jobs']}
    assert json.loads(previews[red]) == {'colour': '\x1b[31mred'}
    assert server.system.multicall([
        {'methodName': 'getJob', 'params': [red]}])[0][0]['id'] == red


def test_what_the_json_api_accepts_reads_back_over_xmlrpc(startDaemon):
    """What ``POST /api/jobs`` accepts, ``getJob`` gives back exactly:
    text with tabs, line ends, carriage returns and characters beyond the
    BMP, 32-bit ints, doubles, nesting."""
    daemon = startDaemon('--workers=1')
    value = {'text': 'tab\tline\ncr\r\U0001F600 é', 'ints': [2 ** 31 - 1,
             -2 ** 31], 'double': 0.1, 'deep': [[[{'k': None}]]], 'ok': True}
    status, answer = postJSON(daemon, '/api/jobs', {
        'task': 'echo', 'input': value, 'startLater': True})
    assert status == 201
    assert daemon.proxy().getJob(answer['id'])['input'] == value


# 9: deep JSON

def test_deep_json_is_a_400_with_fault_3s_code_not_a_server_error(
        startDaemon):
    """Issue 14, 9. A JSON body nested 100,000 levels deep is a 400 with
    Fault 3's code, saying so, and leaves no RecursionError or traceback
    in the log (it was a 500 with Fault 9); 100 levels of input are
    stored, 101 refused with Fault 4's code, as over XML-RPC."""
    daemon = startDaemon('--workers=1')
    token = csrf(daemon)
    depth = 100_000
    status, answer = postJSON(daemon, '/api/jobs',
                              b'[' * depth + b']' * depth, token)
    assert (status, answer['code']) == (400, INVALID)
    assert 'nested too deeply' in answer['error']

    def nested(levels):
        return json.dumps({'task': 'echo', 'startLater': True}
                          )[:-1].encode() + b', "input": ' + \
            b'[' * levels + b']' * levels + b'}'
    status, answer = postJSON(daemon, '/api/jobs', nested(100), token)
    assert status == 201, answer
    status, answer = postJSON(daemon, '/api/jobs', nested(101), token)
    assert (status, answer['code']) == (400, UNSTORABLE)
    log = daemon.log()
    assert 'RecursionError' not in log and 'Traceback' not in log


# 6: the Host allow-list

EVERY_SURFACE = [('GET', '/', None), ('GET', '/api/summary', None),
                 ('GET', '/metrics', None), ('GET', '/static/app.js', None),
                 ('POST', '/', xmlrpc.client.dumps(('echo', 1), 'add')),
                 ('POST', '/RPC2', xmlrpc.client.dumps((), 'getStatus'))]


def test_other_hosts_get_421_on_every_surface(startDaemon):
    """Issue 14, 6. With no --users, a request naming another Host (DNS
    rebinding: ``evil.example:PORT``) gets 421 on the dashboard, its
    JSON view, /metrics, its static files and XML-RPC, and adds no job;
    ``localhost``, the listening address and an ``--allowed-host`` are
    served."""
    daemon = startDaemon('--workers=1', '--allowed-host=tasks.example')
    port = daemon.port
    for method, path, body in EVERY_SURFACE:
        for host in (f'evil.example:{port}', 'evil.example',
                     f'127.0.0.1.evil.example:{port}',
                     'localhost.evil.example'):
            status, _, answer = request(daemon, method, path, body,
                                        {'Host': host})
            assert status == 421, (method, path, host, status, answer)
            assert b'--allowed-host' in answer
        for host in (f'127.0.0.1:{port}', f'localhost:{port}', 'LocalHost.',
                     f'tasks.example:{port}', f'[::ffff:127.0.0.1]:{port}'):
            status, _, answer = request(daemon, method, path, body,
                                        {'Host': host})
            assert status in (200, 404), (method, path, host, status, answer)
    # One add per allowed host, none from the others.
    assert len(daemon.proxy().getJobs({})['jobs']) == 5


def test_the_host_check_comes_before_credentials(startDaemon, tmp_path):
    """With --users, another Host gets 421 even with good credentials, so
    a rebinding page learns nothing, not even that a login is asked."""
    users = tmp_path / 'users'
    users.write_text('ann:secret\n')
    daemon = startDaemon('--workers=1', f'--users={users}')
    status, _, _ = request(daemon, 'GET', '/api/summary', None,
                           {'Host': 'evil.example',
                            'Authorization': 'Basic YW5uOnNlY3JldA=='})
    assert status == 421
    status, _, _ = request(daemon, 'GET', '/api/summary', None,
                           {'Authorization': 'Basic YW5uOnNlY3JldA=='})
    assert status == 200
