"""The real daemon, started as a user would: ``twistd -n remotetask``.

It listens on port 0 and reports the port it got through ``--portfile``;
nothing here sleeps a fixed time or assumes a port. Its log goes to a
file whose path every failure message names.
"""

import os
import signal
import subprocess
import sys
import time
import xmlrpc.client

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(
    os.path.abspath(__file__))))
TWISTD = os.path.join(os.path.dirname(sys.executable), 'twistd')

#: The test tasks, declared to the daemon by import path.
TASKS = ('echo', 'fail', 'crash', 'sleep', 'pid', 'record', 'slow', 'die',
         'big', 'recordRow', 'unstorable', 'recordThenSleep', 'pollsCancel',
         'recordSpan', 'gate', 'progressing', 'failsOnce', 'sized', 'rows',
         'recordResults')
REMOTETASK = os.path.join(ROOT, 'bin', 'remotetask')


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
        return [sys.executable, TWISTD, '-n', '--pidfile=',
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
        return [sys.executable, REMOTETASK, 'serve',
                '--listen=tcp:0:interface=127.0.0.1',
                f'--portfile={self.portfile}', *store, *tasks, *self.args]

    def output(self):
        return open(self.logfile, 'a')


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
