"""The real daemon, started as a user would (``twistd -n remotetask``),
and every way the acceptance tests reach it: XML-RPC and raw HTTP, the
JSON API, /metrics and the command line (what it costs, and its
processes, are read from /proc by ``tests.acceptance.proc``).

It listens on port 0 and reports the port it got through ``--portfile``;
nothing here sleeps a fixed time or assumes a port. Its log goes to a
file whose path every failure message names. Each helper is here once:
a test module that needs a variant passes a parameter, it does not
write its own.
"""

import http.client
import json
import os
import re
import signal
import subprocess
import sys
import time
import xmlrpc.client

from psycopg.conninfo import conninfo_to_dict

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(
    os.path.abspath(__file__))))
TWISTD = os.path.join(os.path.dirname(sys.executable), 'twistd')

#: The test tasks, declared to the daemon by import path.
TASKS = ('echo', 'fail', 'crash', 'sleep', 'pid', 'record', 'slow', 'die',
         'big', 'recordRow', 'unstorable', 'recordThenSleep', 'pollsCancel',
         'recordSpan', 'gate', 'progressing', 'failsOnce', 'sized', 'rows',
         'recordResults')
REMOTETASK = os.path.join(ROOT, 'bin', 'remotetask')
#: Seconds any one request or command may take here: far more than any
#: needs, so that an answer that never comes fails instead of hanging.
PATIENCE = 60
MB = 1024 * 1024
#: The fault codes, as docs/api.md gives them.
NO_SUCH_TASK, NO_SUCH_JOB, INVALID, UNSTORABLE, NOT_ALLOWED = 1, 2, 3, 4, 5
STORE_UNAVAILABLE, TOO_LARGE, TRY_LATER, ANSWER_TOO_LARGE = 6, 7, 11, 12
NOT_PERMITTED, NO_SUCH_METHOD = 13, 8001
#: ``python -c INTERRUPTIBLE SCRIPT ARGS`` runs SCRIPT as from a terminal,
#: Ctrl-C (SIGINT) included, even where this suite runs in the background
#: and its children start with SIGINT ignored (which Twisted and Python
#: then leave ignored).
INTERRUPTIBLE = ('import runpy, signal, sys; '
                 'signal.signal(signal.SIGINT, signal.default_int_handler); '
                 'del sys.argv[0]; '
                 'runpy.run_path(sys.argv[0], run_name="__main__")')


class Daemon:
    """``tasks``: the names of TASKS this daemon serves (all by default)."""

    def __init__(self, directory, store=None, args=(), env=None,
                 tasks=TASKS):
        self.directory = directory
        self.store = store or f'sqlite:{directory}/jobs.sqlite'
        self.args = list(args)
        self.env = env or {}
        self.tasks = tuple(tasks)
        self.logfile = os.path.join(directory, 'twistd.log')
        self.portfile = os.path.join(directory, 'port')
        self.process = None
        self.port = None

    def command(self):
        tasks = [f'--task={name}=tests.tasks:{name}' for name in self.tasks]
        return [sys.executable, '-c', INTERRUPTIBLE, TWISTD, '-n',
                '--pidfile=',
                f'--logfile={self.logfile}', 'remotetask',
                '--listen=tcp:0:interface=127.0.0.1',
                f'--portfile={self.portfile}', f'--store={self.store}',
                *tasks, *self.args]

    def environ(self):
        env = dict(os.environ, **self.env)
        # The test tasks live in this checkout, not in an installed package.
        env['PYTHONPATH'] = os.pathsep.join(
            filter(None, [ROOT, env.get('PYTHONPATH')]))
        return env

    def output(self):
        """Where the daemon's stdout and stderr go (it logs to a file)."""
        return subprocess.DEVNULL

    def refused(self, timeout=30):
        """Run a daemon expected not to start; its CompletedProcess, with
        stdout and stderr as text."""
        return subprocess.run(self.command(), cwd=self.directory,
                              env=self.environ(), capture_output=True,
                              text=True, timeout=timeout)

    def start(self, timeout=30):
        if os.path.exists(self.portfile):
            os.remove(self.portfile)
        output = self.output()
        try:
            self.process = subprocess.Popen(
                self.command(), cwd=self.directory, env=self.environ(),
                stdout=output, stderr=subprocess.STDOUT)
        finally:
            if output is not subprocess.DEVNULL:
                output.close()
        deadline = time.monotonic() + timeout
        while not os.path.exists(self.portfile):
            if self.process.poll() is not None:
                raise AssertionError(
                    f'the daemon exited with {self.process.returncode}; '
                    f'see {self.logfile}:\n{self.log()[-3000:]}')
            if time.monotonic() > deadline:
                self.kill()
                raise AssertionError(f'no port after {timeout} s; see '
                                     f'{self.logfile}')
            time.sleep(0.05)
        with open(self.portfile) as file:
            self.port = int(file.read())
        return self

    @property
    def url(self):
        return f'http://127.0.0.1:{self.port}/'

    def proxy(self, user=None, password=None):
        url = self.url
        if user is not None:
            url = f'http://{user}:{password}@127.0.0.1:{self.port}/'
        return xmlrpc.client.ServerProxy(url, allow_none=True,
                                         use_builtin_types=True)

    def log(self):
        try:
            with open(self.logfile, errors='replace') as file:
                return file.read()
        except FileNotFoundError:
            return ''

    def kill(self, sig=signal.SIGKILL, timeout=60):
        """Send ``sig`` and wait for the process to end."""
        if self.process is not None and self.process.poll() is None:
            self.process.send_signal(sig)
            self.process.wait(timeout)
        return self.process.returncode

    def restart(self):
        self.kill()
        return self.start()


class ServeDaemon(Daemon):
    """The same server run as ``remotetask serve``, which logs to stdout
    (into the log file here)."""

    def command(self):
        tasks = [f'--task={name}=tests.tasks:{name}' for name in TASKS]
        store = [f'--store={self.store}'] if self.store != 'default' else []
        return [sys.executable, '-c', INTERRUPTIBLE, REMOTETASK, 'serve',
                '--listen=tcp:0:interface=127.0.0.1',
                f'--portfile={self.portfile}', *store, *tasks, *self.args]

    def output(self):
        return open(self.logfile, 'a')


class Daemons:
    """The daemons one test (or one module) starts, killed together by
    ``killAll()``: each in ``directory`` (or its sub-directory ``name``),
    on ``store`` unless told otherwise, with ``args`` before its own and
    ``env`` in its environment."""

    def __init__(self, directory, store=None, args=(), tasks=TASKS,
                 env=None):
        self.directory = str(directory)
        self.store = store
        self.args = list(args)
        self.tasks = tasks
        self.env = env or {}
        self.started = []

    def start(self, *args, name=None, directory=None, store=None,
              tasks=None, env=None):
        """A daemon started with ``args``; ``name`` gives it a directory
        of its own (the same one again on a restart by that name)."""
        if directory is None and name is not None:
            directory = os.path.join(self.directory, name)
            os.makedirs(directory, exist_ok=True)
        daemon = Daemon(str(directory or self.directory),
                        store=store or self.store,
                        args=[*self.args, *args],
                        env=dict(self.env, **(env or {})),
                        tasks=self.tasks if tasks is None else tasks)
        self.started.append(daemon)
        return daemon.start()

    def killAll(self):
        for daemon in self.started:
            daemon.kill()


def storeURL(dsn):
    """The ``--store`` URL of the PostgreSQL database ``dsn`` names."""
    params = conninfo_to_dict(dsn)
    return (f"postgresql://{params['user']}@{params['host']}:"
            f"{params['port']}/{params['dbname']}")


def waitUntil(predicate, timeout=30, interval=0.05, message='condition'):
    """Poll ``predicate`` until it is true; bounded in time."""
    deadline = time.monotonic() + timeout
    while not predicate():
        if time.monotonic() > deadline:
            raise AssertionError(f'{message} not reached in {timeout} s')
        time.sleep(interval)


def isRunning(server, jobid):
    """Whether the job has started in a worker and not ended: claimed
    (``processing``) with its start recorded. A job can be claimed
    without having started (waiting beside busy workers). For a job's
    first run only: ``started`` keeps the time of the last start, so a
    job put back and claimed again looks running before it is."""
    job = server.getJob(jobid)
    return job['status'] == 'processing' and job.get('started') is not None


# HTTP and XML-RPC

def request(daemon, method, path, body=None, headers=None,
            host='127.0.0.1', chunked=False, timeout=PATIENCE):
    """``(status, headers, body)`` of one request to ``daemon``, made from
    the address ``host`` (127.0.0.2 and on are other clients)."""
    connection = http.client.HTTPConnection(
        '127.0.0.1', daemon.port, timeout=timeout, source_address=(host, 0))
    try:
        connection.request(method, path, body, headers or {},
                           encode_chunked=chunked)
        response = connection.getresponse()
        return response.status, dict(response.getheaders()), response.read()
    finally:
        connection.close()


def post(daemon, body, path='/RPC2', headers=None, contentType='text/xml',
         **options):
    """``(status, body)`` of an XML-RPC request whose bytes are ``body``,
    sent as ``contentType`` (None: no Content-Type) unless ``headers``
    are given; ``options`` as for ``request``."""
    if headers is None:
        headers = {'Content-Type': contentType} if contentType else {}
    status, _, answer = request(daemon, options.pop('method', 'POST'),
                                path, body, headers, **options)
    return status, answer


def rpcAnswer(daemon, body, **options):
    """The bytes answering the XML-RPC request ``body``, which must come
    as an HTTP 200; ``options`` as for ``post``."""
    status, answer = post(daemon, body, **options)
    assert status == 200, (status, answer[:1000])
    return answer


def multicall(*calls):
    """The bytes of a ``system.multicall`` of ``calls``, each a tuple
    ``(method, *params)``."""
    return xmlrpc.client.dumps(([
        {'methodName': name, 'params': list(params)}
        for name, *params in calls],), 'system.multicall').encode()


def faultOf(entry):
    """A multicall entry's fault code, or None for a result."""
    return entry['faultCode'] if isinstance(entry, dict) else None


def fault(answer, *args, code=None, words=()):
    """The Fault ``answer`` is: a Fault already, the bytes of an XML-RPC
    answer (or ``post``'s ``(status, bytes)``, an HTTP 200), or a
    callable that must raise one when called with ``args``. The test
    fails unless it is one, with ``code`` (if given) and each of
    ``words`` in its message."""
    if isinstance(answer, tuple):
        status, answer = answer
        assert status == 200, (status, answer[:1000])
    if callable(answer):
        try:
            answer = answer(*args)
        except xmlrpc.client.Fault as raised:
            answer = raised
        else:
            raise AssertionError(f'answered without a fault: {answer!r}')
    elif isinstance(answer, bytes):
        try:
            answer = xmlrpc.client.loads(answer)
        except xmlrpc.client.Fault as raised:
            answer = raised
    assert isinstance(answer, xmlrpc.client.Fault), answer
    assert code is None or answer.faultCode == code, answer
    for word in [words] if isinstance(words, str) else words:
        assert word in answer.faultString, answer
    return answer


def metric(daemon, name):
    """The value of the sample ``name`` on /metrics (labels included, as
    ``name{label="value"}``), or None while there is none: a test can
    wait for one to appear."""
    status, _, page = request(daemon, 'GET', '/metrics')
    assert status == 200, status
    found = re.search(rf'^{re.escape(name)} (\S+)$', page.decode(), re.M)
    return float(found.group(1)) if found else None


def csrf(daemon, headers=None):
    """The dashboard's CSRF token, from its page (read with ``headers``:
    a login, say)."""
    status, _, page = request(daemon, 'GET', '/', headers=headers)
    assert status == 200, status
    return re.search(rb'name="remotetask-csrf" content="([^"]+)"',
                     page).group(1).decode()


def getJSON(daemon, path, sized=False):
    """The JSON value at ``path`` (an HTTP 200); with ``sized``, the pair
    of it and the answer's size in bytes."""
    status, _, answer = request(daemon, 'GET', path)
    assert status == 200, (status, answer[:300])
    return (json.loads(answer), len(answer)) if sized else json.loads(answer)


def postJSON(daemon, path, value, token=None, headers=None):
    """``(status, parsed answer)`` of a POST of ``value`` (or of bytes, as
    they are) to the JSON API, with the CSRF token as the dashboard sends
    it (read from the page unless given)."""
    body = value if isinstance(value, bytes) else json.dumps(value).encode()
    status, _, answer = request(daemon, 'POST', path, body, dict(
        headers or {}, **{'Content-Type': 'application/json',
                          'X-Remotetask-CSRF': token or csrf(daemon)}))
    return status, json.loads(answer)


# The command line


def startCli(target, *args, env=None, user=None, password=None,
             stdout=subprocess.PIPE):
    """``remotetask --url URL ARGS`` started, for ``target`` (a Daemon,
    logged in as ``user`` if given, or a URL); stderr piped, text. It
    sees no REMOTETASK_* variable but those in ``env``, TZ is UTC, and
    Ctrl-C (SIGINT) reaches it as in a terminal."""
    url = target
    if isinstance(target, Daemon):
        url = target.url if user is None else \
            f'http://{user}:{password}@127.0.0.1:{target.port}/'
    environ = {name: value for name, value in os.environ.items()
               if not name.startswith('REMOTETASK_')}
    environ.update(PYTHONPATH=ROOT, TZ='UTC', **(env or {}))
    return subprocess.Popen(
        [sys.executable, '-c', INTERRUPTIBLE, REMOTETASK, '--url', url,
         *args], stdout=stdout, stderr=subprocess.PIPE, text=True,
        env=environ)


def cli(target, *args, timeout=PATIENCE, **options):
    """The CompletedProcess of ``startCli(target, *args, **options)``,
    run to its end."""
    started = startCli(target, *args, **options)
    try:
        out, err = started.communicate(timeout=timeout)
    except subprocess.TimeoutExpired:
        started.kill()
        started.communicate()
        raise
    return subprocess.CompletedProcess(started.args, started.returncode,
                                       out, err)

