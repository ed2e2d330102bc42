"""Starting the daemon as an operator does on the first day: a second
server on the same store or port, its options and their mistakes, what
the start-up log says, and where tasks and the store are found."""

import os
import re
import signal
import subprocess
import sys
import textwrap
import time
import urllib.request

import pytest

from remotetask.server.daemon.options import Options
from tests.acceptance.daemon import (
    REMOTETASK, ROOT, Daemon, ServeDaemon, waitUntil)


def lines(text):
    return [line for line in text.splitlines() if line.strip()]


def oneLine(done):
    """The single line a refused start printed, checked to be one line
    and no traceback."""
    assert 'Traceback' not in done.stdout + done.stderr, done
    assert lines(done.stdout) == [], done
    assert len(lines(done.stderr)) == 1, done
    return done.stderr.strip()


def serve(*args, cwd, env=None, timeout=60):
    """``remotetask serve ARGS`` expected to end by itself."""
    return subprocess.run(
        [sys.executable, REMOTETASK, 'serve', *args], cwd=cwd,
        capture_output=True, text=True, timeout=timeout,
        env=dict(os.environ, PYTHONPATH=ROOT, **(env or {})))


# 1. A second daemon

def test_a_second_daemon_on_the_same_store_exits_and_the_job_runs_once(
        startDaemon, tmp_path):
    """A second daemon on the SQLite file of a running one exits
    non-zero, with one line naming the first one's pid, before it puts
    anything back in the queue: the running job runs once, to the end."""
    first = startDaemon('--workers=1')
    server = first.proxy()
    runs = tmp_path / 'runs'
    jobid = server.add('recordThenSleep',
                       {'path': str(runs), 'line': 'ran', 'sleep': 3})
    waitUntil(runs.exists, message='the job running')
    other = tmp_path / 'second'
    other.mkdir()
    second = Daemon(str(other), store=first.store)
    started = time.monotonic()
    done = second.refused()
    assert done.returncode != 0
    assert time.monotonic() - started < 20
    line = oneLine(done)
    assert 'is in use by another server' in line
    assert f'pid {first.process.pid}' in line
    assert server.wait(jobid, 30) == 'completed'
    job = server.getJob(jobid)
    assert job['attempts'] == 1
    assert runs.read_text() == 'ran\n'


def test_a_daemonised_server_names_itself_as_the_holder(tmp_path):
    """twistd without -n forks after opening the store: the lock stays
    held by the daemon, and a second server is told the daemon's pid,
    not that of the process that took the lock and exited."""
    daemon = Daemon(str(tmp_path))
    pidfile = tmp_path / 'twistd.pid'
    command = [part for part in daemon.command() if part != '-n']
    command[command.index('--pidfile=')] = f'--pidfile={pidfile}'
    started = subprocess.run(command, cwd=tmp_path, env=daemon.environ(),
                             capture_output=True, text=True, timeout=60)
    assert started.returncode == 0, started
    waitUntil(lambda: os.path.exists(daemon.portfile) and pidfile.exists(),
              message='the daemon listening')
    pid = int(pidfile.read_text())
    try:
        with open(tmp_path / 'jobs.sqlite.lock') as lock:
            assert lock.read() == f'{pid}\n'
        other = tmp_path / 'second'
        other.mkdir()
        done = Daemon(str(other), store=daemon.store).refused()
        assert done.returncode != 0
        assert f'(pid {pid};' in oneLine(done)
    finally:
        os.kill(pid, signal.SIGTERM)
        waitUntil(lambda: not pidfile.exists(), message='the daemon gone')


def test_a_taken_port_exits_at_once_and_leaves_the_store_alone(
        startDaemon, tmp_path):
    """A daemon whose port is taken exits non-zero within seconds, with
    one line naming the port, and has not created, locked or opened its
    store file; a SIGTERM to the first then stops it without a
    traceback."""
    first = startDaemon()
    other = tmp_path / 'second'
    other.mkdir()
    store = other / 'jobs.sqlite'
    second = Daemon(str(other), store=f'sqlite:{store}', args=[
        f'--listen=tcp:{first.port}:interface=127.0.0.1'])
    started = time.monotonic()
    done = second.refused()
    assert done.returncode != 0
    assert time.monotonic() - started < 20
    assert (f'port {first.port} on 127.0.0.1 is in use'
            in oneLine(done))
    assert sorted(os.listdir(other)) == []
    assert first.kill(signal.SIGTERM) in (0, -signal.SIGTERM)
    assert 'Server Shut Down.' in first.log()
    assert 'Traceback' not in first.log()


def runningJob(startDaemon, directory, grace, sleep):
    """A daemon with one worker, ``grace``, running a job that sleeps
    ``sleep`` seconds; the daemon and the job's id."""
    daemon = startDaemon('--workers=1', f'--grace={grace}')
    runs = directory / 'runs'
    jobid = daemon.proxy().add('recordThenSleep', {
        'path': str(runs), 'line': 'ran', 'sleep': sleep})
    waitUntil(runs.exists, message='the job running')
    return daemon, jobid


def test_a_second_sigterm_while_stopping_is_one_line(startDaemon,
                                                     tmp_path):
    """A SIGTERM that comes while the server waits for its running job is
    logged in one line; the server stops as the first asked, with no
    ReactorNotRunning traceback."""
    daemon, jobid = runningJob(startDaemon, tmp_path, grace=30, sleep=2)
    daemon.process.send_signal(signal.SIGTERM)
    waitUntil(lambda: f'Port {daemon.port} Closed' in daemon.log(),
              message='the server stopping')
    assert daemon.kill(signal.SIGTERM) in (0, -signal.SIGTERM)
    log = daemon.log()
    assert 'Received SIGTERM while stopping; running jobs still get ' \
        'their grace period' in log
    assert 'Traceback' not in log and 'ReactorNotRunning' not in log
    assert 'Server Shut Down.' in log
    restarted = startDaemon()
    assert restarted.proxy().getStatus(jobid) == 'completed'


def test_a_second_ctrl_c_stops_running_jobs_at_once(startDaemon,
                                                     tmp_path):
    """A second SIGINT (Ctrl-C) while the server waits out a ten-minute
    grace stops the running job's worker at once: the server exits well
    before the grace, and the job, put back, runs again at the next
    start."""
    daemon, jobid = runningJob(startDaemon, tmp_path, grace=600,
                               sleep=3600)
    daemon.process.send_signal(signal.SIGINT)
    # The services before the dispatcher stop first: on a loaded machine
    # that may take a while.
    waitUntil(lambda: 'Waiting up to 600' in daemon.log(), timeout=90,
              message='the server waiting for its job')
    assert 'Ctrl-C again: stop them now' in daemon.log()
    daemon.process.send_signal(signal.SIGINT)
    assert daemon.process.wait(60) in (0, -signal.SIGINT)
    log = daemon.log()
    assert 'Not waiting for running jobs' in log
    # Put back when its worker's end is heard, or, on a slow machine,
    # REAP seconds after the kill.
    assert re.search(rf'Job {jobid} \(recordThenSleep\) (still ran at '
                     r'shutdown; )?put back in the queue', log), log
    assert 'Traceback' not in log
    restarted = startDaemon()
    assert restarted.proxy().getStatus(jobid) in ('queued', 'processing')


def test_an_unknown_kind_of_store_is_refused(tmp_path):
    """--store mysql:jobs is a usage error naming the kinds there are,
    not a SQLite file named 'mysql:jobs'."""
    done = serve('--store', 'mysql:jobs', cwd=tmp_path)
    assert done.returncode == 2
    line = oneLine(done)
    assert "unknown kind of store 'mysql'" in line
    assert 'sqlite:FILE, memory: or a postgresql:// URL' in line
    assert os.listdir(tmp_path) == []


def test_the_default_store_is_the_same_from_any_directory(tmp_path):
    """Without --store, the server keeps its jobs in the user's data
    directory, says where in its log, and finds them again when started
    from another working directory."""
    data = tmp_path / 'data'
    expected = data / 'remotetask' / 'jobs.sqlite'
    seen = []
    for name in ('here', 'there'):
        directory = tmp_path / name
        directory.mkdir()
        daemon = ServeDaemon(str(directory), store='default',
                             env={'XDG_DATA_HOME': str(data)}).start()
        try:
            server = daemon.proxy()
            seen.append(server.add('echo', name, True))
            assert [job['input'] for job in server.getJobs({})['jobs']] == \
                ['here', 'there'][:len(seen)]
            assert f'remotetask store: SQLite file {expected}\n' in \
                daemon.log()
        finally:
            daemon.kill(signal.SIGTERM)
    assert seen == [1, 2]
    assert expected.exists()


def test_a_store_in_a_missing_directory_says_the_directory_is_missing(
        tmp_path):
    """--store sqlite:DIR/jobs.sqlite where DIR does not exist is one line
    saying the directory does not exist and how to create it, and
    creates nothing."""
    missing = tmp_path / 'no' / 'such'
    done = serve('--store', f'sqlite:{missing}/jobs.sqlite', cwd=tmp_path)
    assert done.returncode != 0
    assert (f'The directory {missing} does not exist; create it first '
            f'(mkdir -p {missing})') in oneLine(done)
    assert os.listdir(tmp_path) == []


# 3. The options

def test_serve_help_lists_every_option(tmp_path):
    """remotetask serve --help shows every option of the daemon, and
    exits 0."""
    done = subprocess.run([sys.executable, REMOTETASK, 'serve', '--help'],
                          capture_output=True, text=True, timeout=60,
                          env=dict(os.environ, PYTHONPATH=ROOT))
    assert done.returncode == 0, done.stderr
    options = Options()
    names = [entry[0] for entry in options.optParameters + options.optFlags]
    names += ['task', 'help']
    assert len(names) > 15
    for name in names:
        assert f'--{name}' in done.stdout, name


def test_serve_help_reads_as_prose_with_one_default_each(tmp_path):
    """No option's text in serve --help has runs of spaces (docstrings'
    indentation), each shows one default, and sizes show as 256M."""
    done = serve('--help', cwd=tmp_path)
    assert done.returncode == 0, done.stderr
    text = done.stdout
    column = text.index('At most N jobs of TASK run') - text.rindex(
        '\n', 0, text.index('At most N jobs of TASK run')) - 1
    for line in text.splitlines():
        assert '  ' not in line[column:].rstrip(), line
    options = re.split(r'\n(?=  +-)', text)
    connections, = [o for o in options if '--max-connections=' in o]
    assert connections.count('default') == 1, connections
    assert 'half the open-file limit' in ' '.join(connections.split())
    memory, = [o for o in options if '--max-answer-memory=' in o]
    assert '[default: 256M]' in ' '.join(memory.split())


@pytest.mark.parametrize('args', [['serve', '--version'], ['--version']])
def test_version_is_the_projects(tmp_path, args):
    """remotetask --version and remotetask serve --version print
    remotetask's own version (the one pip installed), not Twisted's."""
    from importlib.metadata import version
    done = subprocess.run([sys.executable, REMOTETASK, *args],
                          capture_output=True, text=True, timeout=60,
                          cwd=tmp_path, env=dict(os.environ, PYTHONPATH=ROOT))
    assert done.returncode == 0, done.stderr
    assert done.stdout.startswith(f'remotetask {version("remotetask")}')


@pytest.mark.parametrize('args, words', [
    (['--bogus'], 'option --bogus not recognized'),
    (['--listen', '8770'],
     'write --listen tcp:8770:interface=127.0.0.1'),
    (['--listen', 'tpc:8770'], "there is no endpoint type 'tpc'"),
    (['--workers', 'many'], "--workers 'many': it must be a whole number"),
    (['--task', 'hello=mytask:'],
     "'mytask:' is not an import path: write package.module:function"),
    (['--task', 'mytask:hello'], 'it needs a name'),
])
def test_a_bad_option_is_one_line_naming_it(tmp_path, args, words):
    """A bad option or value gets one line on stderr, naming the problem
    and the fix, and exit status 2; no usage text, no traceback."""
    done = serve(*args, cwd=tmp_path)
    assert done.returncode == 2
    line = oneLine(done)
    assert words in line
    assert line.endswith('(see remotetask serve --help)')


# 5. The start-up log

def test_the_startup_log_says_what_the_server_runs(startDaemon, tmp_path):
    """The log names the store file, the workers and their pool, the
    tasks served, the address listened on and the dashboard's URL, which
    answers."""
    daemon = startDaemon('--workers=3', '--pool=thread')
    log = daemon.log()
    store = tmp_path / 'jobs.sqlite'
    assert f'remotetask store: SQLite file {store}\n' in log
    assert 'remotetask workers: 3 worker threads (--pool thread)' in log
    served = re.search(r'remotetask tasks: (.*)$', log, re.M)[1].split(', ')
    assert served == sorted(served)
    assert {'big', 'crash', 'die', 'echo', 'fail', 'gate', 'pid'} <= set(
        served)
    url = f'http://127.0.0.1:{daemon.port}/'
    assert (f'remotetask listening on 127.0.0.1:{daemon.port}; dashboard '
            f'at {url}\n') in log
    with urllib.request.urlopen(url, timeout=30) as answer:
        assert answer.status == 200
        assert b'remotetask' in answer.read()


# 6. Where tasks are found

def test_a_task_module_in_the_working_directory_is_found(tmp_path):
    """--task NAME=module:function finds the module in the directory the
    server started in, in the server and in its worker processes."""
    (tmp_path / 'mytask.py').write_text(textwrap.dedent('''
        def hello(input):
            """Greet."""
            return f'hello {input}'
    '''))
    daemon = ServeDaemon(str(tmp_path),
                         args=['--task=hello=mytask:hello']).start()
    try:
        server = daemon.proxy()
        assert server.getTaskDescriptions()['hello'] == 'Greet.'
        jobid = server.add('hello', 'you')
        assert server.wait(jobid, 30) == 'completed', server.getError(jobid)
        assert server.getResult(jobid) == 'hello you'
    finally:
        daemon.kill(signal.SIGTERM)


def test_a_task_module_nowhere_says_to_set_PYTHONPATH(tmp_path):
    """A --task module that is not there is one line saying where it was
    looked for and to set PYTHONPATH; exit status 1."""
    done = serve('--task', 'hello=nosuchmodule:hello', cwd=tmp_path)
    assert done.returncode == 1
    line = oneLine(done)
    assert "there is no module 'nosuchmodule'" in line
    assert str(tmp_path) in line
    assert 'set PYTHONPATH' in line


def test_a_task_that_is_not_callable_says_what_it_is(tmp_path):
    """A --task naming a value that is no task says what was found (its
    value and type) and what a task must be."""
    done = serve('--task', 'x=os:sep', cwd=tmp_path)
    assert done.returncode == 1
    assert ("--task x=os:sep: '/' (a str) is not a task: give a function "
            '(or any callable) or an object that provides ITask') in \
        oneLine(done)


def test_a_task_name_missing_from_its_module_is_one_line(tmp_path):
    """A --task whose module lacks the name says so in one line."""
    (tmp_path / 'mytask.py').write_text('def hello(input):\n    pass\n')
    done = serve('--task', 'hello=mytask:helo', cwd=tmp_path)
    assert done.returncode == 1
    assert "the module 'mytask'" in oneLine(done)
    assert "has no 'helo'" in done.stderr


@pytest.mark.parametrize('text, words', [
    ('[convert]\ndescription = no program\n', 'has no argv line'),
    ('argv = echo\n', 'File contains no section headers'),
    ('[convert]\nargv = echo "open\n', 'No closing quotation'),
    ('[convert]\nargv = echo\ntimout = 1\nuser = x\n',
     '[convert]: unknown keys timout, user; a section has only argv, '
     'description, timeout'),
    ('[convert]\nargv = echo\ntimeout = abc\n',
     '[convert]: timeout = abc is not a number of seconds above 0'),
    ('[convert]\nargv = echo\ntimeout = 0\n',
     '[convert]: timeout = 0 is not a number of seconds above 0'),
])
def test_a_mistake_in_the_commands_file_is_a_sentence(tmp_path, text,
                                                      words):
    """A command file with a section without argv, a key it does not
    know (a typo such as timout), a timeout that is not a positive
    number, or text that is not INI, is refused in one line naming the
    file, never a KeyError or float()'s message."""
    commands = tmp_path / 'commands.ini'
    commands.write_text(text)
    done = serve('--commands', str(commands), cwd=tmp_path)
    assert done.returncode == 1
    line = oneLine(done)
    assert words in line
    assert str(commands) in line
