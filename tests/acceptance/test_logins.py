"""Issue 14, 10 and issue 11, 8 against the real daemon: the users file
(``bob:pa:ss``, hashed entries made by ``remotetask hash-password``), and
password guessing logged and slowed per address, nothing else slowed."""

import os
import subprocess
import sys
import threading

from tests.acceptance.daemon import ROOT
from tests.acceptance.permissions import login

#: --login-delay in these tests: waits of 0.1, 0.2, 0.4, ... s.
DELAY = 0.1


def hashedLine(user, password):
    """A users-file line made by ``remotetask hash-password``."""
    made = subprocess.run(
        [sys.executable, os.path.join(ROOT, 'bin', 'remotetask'),
         'hash-password', user], input=password + '\n', capture_output=True,
        text=True, timeout=60, env=dict(os.environ, PYTHONPATH=ROOT))
    assert made.returncode == 0, made.stderr
    return made.stdout


def test_users_file_colons_and_hashed_entries(startDaemon, tmp_path):
    """Issue 11, 8. ``carol:pa:ss`` logs carol in with ``pa:ss`` (it was
    ``pa``); a line from ``remotetask hash-password`` logs bob in with
    his password only; the hash, not the password, is in the file."""
    users = tmp_path / 'users'
    line = hashedLine('bob', 'correct horse:battery')
    assert line.startswith('bob:$scrypt$') and 'battery' not in line
    users.write_text('carol:pa:ss\n' + line)
    daemon = startDaemon('--workers=1', f'--users={users}',
                         f'--login-delay={DELAY}')
    assert login(daemon, 'carol', 'pa:ss')[0] == 200
    assert login(daemon, 'bob', 'correct horse:battery')[0] == 200
    assert login(daemon, 'bob', 'correct horse:battery')[0] == 200
    assert login(daemon, 'carol', 'pa', '127.0.0.2')[0] == 401
    assert login(daemon, 'bob', 'correct horse', '127.0.0.3')[0] == 401


def test_a_malformed_users_file_stops_the_server_saying_where(tmp_path):
    """A users-file line without a password is one line at start, naming
    the file and line, and the server does not start."""
    users = tmp_path / 'users'
    users.write_text('ann:secret\nbob\n')
    started = subprocess.run(
        [sys.executable, os.path.join(ROOT, 'bin', 'remotetask'), 'serve',
         '--listen=tcp:0:interface=127.0.0.1', f'--users={users}',
         f'--store=sqlite:{tmp_path}/jobs.sqlite'], capture_output=True,
        text=True, timeout=60, env=dict(os.environ, PYTHONPATH=ROOT))
    assert started.returncode != 0
    assert f'{users}, line 2: not user:password' in started.stderr


def test_guessing_is_logged_and_slowed_per_address_only(startDaemon,
                                                        tmp_path):
    """Issue 14, 10 (3,357 guesses a second, none logged). Each failed
    login from an address makes its next attempt wait twice as long
    (0.1, 0.2, 0.4, ... s here); while one such attempt waits, a client
    at another address logs in at once; every failure is logged with
    user and address, and no password reaches the log."""
    users = tmp_path / 'users'
    users.write_text('ann:secret\n')
    daemon = startDaemon('--workers=1', f'--users={users}',
                         f'--login-delay={DELAY}')
    took = [login(daemon, 'mallory', f'guess-{n}') for n in range(6)]
    assert [status for status, _ in took] == [401] * 6
    for n, (_, seconds) in enumerate(took[1:]):
        assert seconds >= 0.9 * DELAY * 2 ** n, took
    pending = []
    waiting = threading.Thread(target=lambda: pending.append(
        login(daemon, 'mallory', 'guess-6')))
    waiting.start()
    try:
        # Its attempt waits 3.2 s; another address is answered meanwhile.
        assert login(daemon, 'ann', 'secret', '127.0.0.2')[0] == 200
        assert waiting.is_alive() and pending == []
    finally:
        waiting.join(60)
    assert pending[0][0] == 401 and pending[0][1] >= 0.9 * 3.2
    log = daemon.log()
    assert log.count("Failed login for user 'mallory' from 127.0.0.1") == 7
    assert 'guess-' not in log and 'secret' not in log
