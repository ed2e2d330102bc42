"""Issue 20, items 6, 10 to 12 and 14 against the real daemon: what a
client may not slip past the operator (``--notify-allow``, a command
template, the login throttle), nor make every read of a job pay for (a
crontab's length)."""

import threading
import time
import xmlrpc.client

import pytest

from tests.acceptance.daemon import INVALID, csrf, postJSON
from tests.acceptance.permissions import login

PREFIX = 'http://127.0.0.1:18886/hooks/'
#: URLs under PREFIX as text, but not as a server may resolve them.
ESCAPES = [PREFIX + '../admin', PREFIX + '%2e%2e/admin',
           PREFIX + '%2E%2e%2Fadmin', PREFIX + './../admin',
           PREFIX + '..%5cadmin']
#: URLs holding characters that would go raw into the log.
UNCLEAN = [PREFIX + 'x\x1b[31m', PREFIX + 'x\r\nforged: line',
           PREFIX + 'x\x00', PREFIX + 'x\ud800', PREFIX + 'a b']


def refusedOverXmlRpc(server, notify):
    with pytest.raises(xmlrpc.client.Fault) as refused:
        server.add('echo', 1, {'notify': notify})
    return refused.value


def test_notify_urls_with_dot_segments_are_refused_on_both_apis(
        startDaemon):
    """Under --notify-allow PREFIX, ``PREFIX../admin`` and its encoded
    forms are refused at add with fault 3 on XML-RPC and 400 on the JSON
    API, naming the segment; a URL under PREFIX with dots inside its
    words is taken."""
    daemon = startDaemon('--workers=1', f'--notify-allow={PREFIX}')
    server = daemon.proxy()
    token = csrf(daemon)
    for url in ESCAPES:
        fault = refusedOverXmlRpc(server, url)
        assert fault.faultCode == INVALID and '".."' in fault.faultString
        status, answer = postJSON(daemon, '/api/jobs', {
            'task': 'echo', 'input': 1, 'notify': url}, token)
        assert (status, answer['code']) == (400, INVALID), url
    assert server.add('echo', 1, {'notify': PREFIX + 'v1.2/..done'}) > 0
    status, answer = postJSON(daemon, '/api/jobs', {
        'task': 'echo', 'input': 1, 'notify': PREFIX + 'a.b'}, token)
    assert status == 201, answer


def test_notify_urls_with_control_characters_are_refused_on_both_apis(
        startDaemon):
    """An ESC, CR LF, NUL, a lone surrogate or a space in a notify URL:
    fault 3 on XML-RPC, 400 with its code on the JSON API (before: 201,
    written raw into the log; a 500 on PostgreSQL), nothing of it in the
    log."""
    daemon = startDaemon('--workers=1', f'--notify-allow={PREFIX}')
    server = daemon.proxy()
    token = csrf(daemon)
    for url in UNCLEAN:
        status, answer = postJSON(daemon, '/api/jobs', {
            'task': 'echo', 'input': 1, 'notify': url}, token)
        assert (status, answer['code']) == (400, INVALID), url
        assert 'printable ASCII' in answer['error']
        if '\x00' not in url and '\ud800' not in url:
            assert refusedOverXmlRpc(server, url).faultCode == INVALID
    assert '\x1b' not in daemon.log() and 'forged' not in daemon.log()


def test_a_crontab_is_at_most_512_characters(startDaemon):
    """A crontab of 513 characters is refused with fault 3 naming the
    limit (before: 4 MB accepted, each read parsing it for 4.7 s); one of
    512 characters, every field written out, is taken."""
    server = startDaemon('--workers=1').proxy()
    minutes = ','.join(str(n) for n in range(60))
    hours = ','.join(str(n) for n in range(24))
    days = ','.join(str(n) for n in range(1, 32))
    line = f'{minutes} {hours} {days} * *'
    line += ' ' * (512 - len(line))
    assert server.addCronJob('echo', 1, {'crontab': line}) > 0
    with pytest.raises(xmlrpc.client.Fault) as refused:
        server.addCronJob('echo', 1, {'crontab': line + ' '})
    assert refused.value.faultCode == INVALID
    assert 'at most 512 characters' in refused.value.faultString


def test_a_name_field_confines_a_path_on_the_daemon(startDaemon, tmp_path):
    """Issue 20, 12. ``cat DIR/{file:name}``: ``../secret`` ends the job
    in error naming the field, nothing read; ``in.txt`` is read. The
    same template with a plain field reads ``../secret``: the warning
    docs/attacks.md gives."""
    data = tmp_path / 'data'
    data.mkdir()
    (data / 'in.txt').write_text('inside\n')
    (tmp_path / 'secret').write_text('outside\n')
    commands = tmp_path / 'commands.ini'
    commands.write_text(f'[confined]\nargv = cat {data}/{{file:name}}\n\n'
                        f'[plain]\nargv = cat {data}/{{file}}\n')
    server = startDaemon('--workers=1', f'--commands={commands}').proxy()
    refused = server.add('confined', {'file': '../secret'})
    assert server.wait(refused, 30) == 'error'
    assert 'must be a file name' in server.getError(refused)
    read = server.add('confined', {'file': 'in.txt'})
    assert server.wait(read, 30) == 'completed'
    assert server.getResult(read)['stdout'] == 'inside\n'
    escaped = server.add('plain', {'file': '../secret'})
    assert server.wait(escaped, 30) == 'completed'
    assert server.getResult(escaped)['stdout'] == 'outside\n'


def test_guessing_one_user_from_many_addresses_is_slowed_too(startDaemon,
                                                               tmp_path):
    """Issue 20, 14. Seven wrong passwords for ann, each from another
    loopback address (before: not slowed at all, about 2,000 guesses a
    second from 127.0.0.0/8): they wait 0.1, 0.2, ... 3.2 s as from one
    address, over 5 s in all at --login-delay 0.1; meanwhile ann, whose
    credentials succeeded before, and bob are let in."""
    users = tmp_path / 'users'
    users.write_text('ann:secret\nbob:pw\n')
    daemon = startDaemon('--workers=1', f'--users={users}',
                         '--login-delay=0.1')
    assert login(daemon, 'ann', 'secret', '127.0.0.200')[0] == 200
    started = time.monotonic()
    took = [login(daemon, 'ann', f'guess-{n}', f'127.0.0.{n + 2}')
            for n in range(6)]
    assert [code for code, _ in took] == [401] * 6
    pending = []
    waiting = threading.Thread(target=lambda: pending.append(
        login(daemon, 'ann', 'guess-6', '127.0.0.9')))
    waiting.start()
    try:
        assert login(daemon, 'ann', 'secret', '127.0.0.200')[0] == 200
        assert login(daemon, 'bob', 'pw', '127.0.0.201')[0] == 200
        assert waiting.is_alive() and pending == []
    finally:
        waiting.join(60)
    assert pending[0][0] == 401
    assert time.monotonic() - started > 5
