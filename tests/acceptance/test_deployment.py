"""docs/remotetask.service, the unit of docs/deployment.md, run as systemd
would run it: its ExecStart exactly, with systemd's environment, working
directory, open-file limit and (where this machine lets another user run
this virtualenv) its user; stopped as ``KillMode=mixed`` stops it. There
is no init here, so systemd itself is not; ``systemd-analyze verify``
checks the file where it is installed."""

import os
import pwd
import re
import resource
import shlex
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import xmlrpc.client

import pytest

from tests.acceptance.daemon import ROOT, waitUntil
from tests.acceptance.docblocks import blocks
from tests.acceptance.proc import children

UNIT = os.path.join(ROOT, 'docs', 'remotetask.service')
#: systemd's PATH for services (systemd.exec(5), "Environment").
SYSTEMD_PATH = '/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin'


def readUnit(path=UNIT):
    """``{section: {key: [values]}}``, as systemd reads a unit file:
    comments, and lines continued with a backslash."""
    sections, section = {}, None
    with open(path) as file:
        text = re.sub(r'\\\n\s*', ' ', file.read())
    for line in text.splitlines():
        line = line.strip()
        if not line or line[0] in '#;':
            continue
        if line.startswith('['):
            section = sections.setdefault(line.strip('[]'), {})
            continue
        key, value = line.split('=', 1)
        section.setdefault(key.strip(), []).append(value.strip())
    return sections


def freePort():
    with socket.socket() as probe:
        probe.bind(('127.0.0.1', 0))
        return probe.getsockname()[1]


def unitUser(name):
    """The user to run as: the unit's if it exists, else ``nobody``, if
    that user can run this virtualenv's Python; else None (this user)."""
    if os.getuid() != 0:
        return None
    for candidate in (name, 'nobody'):
        try:
            pwd.getpwnam(candidate)
        except KeyError:
            continue
        try:
            subprocess.run([sys.executable, '-c', 'pass'], user=candidate,
                           capture_output=True, cwd='/', timeout=60,
                           check=True)
        except (OSError, subprocess.CalledProcessError):
            continue   # this virtualenv is not readable by that user
        return candidate
    return None


def test_the_unit_says_what_the_guide_promises():
    """The unit has the lines docs/deployment.md explains (KillMode=mixed,
    a user, a working directory, the journal, a stop timeout longer than
    --grace), and the guide shows the file as it is."""
    service = readUnit()['Service']
    assert service['KillMode'] == ['mixed']
    assert service['User'] == ['remotetask']
    assert service['WorkingDirectory'] == ['/var/lib/remotetask']
    assert service['StandardOutput'] == ['journal']
    grace = float(re.search(r'--grace (\S+)',
                            service['ExecStart'][0]).group(1))
    assert float(service['TimeoutStopSec'][0]) > grace
    with open(os.path.join(ROOT, 'docs', 'deployment.md')) as file:
        shown = [block.text for block in blocks(file.read())
                 if block.directive == ('file', 'remotetask.service')]
    with open(UNIT) as file:
        assert shown == [file.read()]


@pytest.mark.skipif(shutil.which('systemd-analyze') is None,
                    reason='systemd-analyze is not installed')
def test_systemd_analyze_finds_no_fault_in_the_unit(tmp_path):
    """``systemd-analyze verify`` accepts the unit, its ExecStart pointing
    at this virtualenv's remotetask (the unit's own path is not here)."""
    with open(UNIT) as file:
        text = file.read().replace('/opt/remotetask/venv', sys.prefix)
    unit = tmp_path / 'remotetask.service'
    unit.write_text(text)
    done = subprocess.run(['systemd-analyze', 'verify', str(unit)],
                          capture_output=True, text=True, timeout=60)
    assert done.returncode == 0 and 'remotetask' not in done.stderr, done


def test_the_unit_starts_serves_and_stops_on_sigterm_as_systemd_runs_it():
    """ExecStart, run with systemd's environment in WorkingDirectory (the
    unit's paths mapped to a temporary tree and this virtualenv), serves
    XML-RPC; a command-file program runs in the working directory; SIGTERM
    to the main process alone (KillMode=mixed) ends the server within
    TimeoutStopSec, status 0, its workers gone with it."""
    service = readUnit()['Service']
    top = tempfile.mkdtemp(prefix='remotetask-unit-')
    os.chmod(top, 0o755)
    user = unitUser(service['User'][0])
    paths = {'/opt/remotetask/venv': sys.prefix,
             '/var/lib/remotetask': os.path.join(top, 'state'),
             '/etc/remotetask': os.path.join(top, 'etc')}
    for path in paths.values():
        os.makedirs(path, exist_ok=True)
    with open(os.path.join(paths['/etc/remotetask'], 'commands.ini'),
              'w') as file:
        file.write('[where]\nargv = pwd\n')
    if user:
        shutil.chown(paths['/var/lib/remotetask'], user)
    port = freePort()
    command = service['ExecStart'][0].replace('tcp:8770', f'tcp:{port}')
    for unitPath, here in paths.items():
        command = command.replace(unitPath, here)
    home = paths['/var/lib/remotetask']
    env = {'PATH': SYSTEMD_PATH, 'LANG': 'C.UTF-8', 'HOME': home,
           'USER': user or 'root', 'LOGNAME': user or 'root',
           'SHELL': '/usr/sbin/nologin',
           'INVOCATION_ID': '0' * 32}
    nofile = int(service['LimitNOFILE'][0])
    hard = resource.getrlimit(resource.RLIMIT_NOFILE)[1]

    def limits():
        resource.setrlimit(resource.RLIMIT_NOFILE,
                           (min(nofile, hard), min(nofile, hard)))
    log = os.path.join(top, 'journal.log')
    with open(log, 'w') as journal:
        process = subprocess.Popen(
            shlex.split(command), cwd=service['WorkingDirectory'][0]
            .replace('/var/lib/remotetask', home), env=env, user=user,
            stdout=journal, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL,
            preexec_fn=limits, start_new_session=True)
    try:
        server = xmlrpc.client.ServerProxy(f'http://127.0.0.1:{port}/')

        def serving():
            assert process.poll() is None, open(log).read()[-3000:]
            try:
                return server.getAvailableTasks() == ['where']
            except OSError:
                return False
        waitUntil(serving, timeout=60, message='serving')
        jobid = server.add('where', {})
        assert server.wait(jobid, 30) == 'completed', open(log).read()
        assert server.getResult(jobid)['stdout'] == home + '\n'
        workers = children(process.pid)
        assert workers, 'the server has worker processes'
        process.send_signal(signal.SIGTERM)
        assert process.wait(float(service['TimeoutStopSec'][0])) == 0
        waitUntil(lambda: not any(os.path.exists(f'/proc/{pid}')
                                  for pid in workers),
                  timeout=30, message='the workers ended')
        assert 'Received SIGTERM' in open(log).read()
    finally:
        if process.poll() is None:
            os.killpg(process.pid, signal.SIGKILL)
            process.wait(30)
        shutil.rmtree(top, ignore_errors=True)
