"""What every benchmarked system looks like to compare.py, and its processes.

Each system (remotetask, the bare XML-RPC ceiling, each competitor) is one
small `Adapter` subclass, so that adding a column to the table is adding a
class: compare.py only ever calls the methods below.  Processes the adapters
start are `Worker`s: each runs in its own process group, so that stopping it
also stops whatever it forked (celery's prefork children, twistd's worker
processes), and every one still alive is killed when compare.py exits.
"""

import os
import shutil
import signal
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from cpu import brokerRoots

here = Path(__file__).resolve().parent

# How long a batch of results may take to become readable, and the poll
# interval the bench uses for systems whose clients offer no blocking wait.
waitSeconds = 300
pollSeconds = 0.002
# How long a worker may take to start and run its first job.
startSeconds = 60


class BenchError(Exception):
    """A system could not be measured; the message says why, for a person."""


# Optional features a system may offer beyond the contract below; compare.py
# measures each only where `Adapter.offered()` lists it, and reports "not
# offered" elsewhere.  remotetask gains them with issues 10 and 13.
ADD_AND_WAIT = 'addAndWait'  # one call adds a job and returns it finished
PROGRESS = 'progress'        # a task can report progress (`progress` task)


class Adapter:
    """One system under test, driven by one producer: the benchmark process.

    Subclasses set `name` and `description` (the table's row label and its
    one-line fairness note) and implement `start`, `stop`, `enqueueOne`,
    `enqueueMany`, `waitOne`, `unfinished` and `rss`.  `waitAll` and
    `roundTrip` are written once here, from `waitOne` and `unfinished`, so
    that "done" is detected the same way for every system: block on the last
    job with the system's own wait (or poll it every `pollSeconds`), then
    check every job in batches until none is left unfinished.
    """

    name = None
    description = None
    # The optional features (ADD_AND_WAIT, PROGRESS) this adapter can
    # measure where the running system offers them: see offered().
    optionalFeatures = ()
    # The machine's broker or database the system's jobs go through
    # ('redis', 'postgresql'; None for none), whose CPU over a burst is
    # counted beside the system's own processes (cpu.brokerRoots).
    broker = None

    def __init__(self, workDir):
        self.workDir = Path(workDir)
        self.workers = []

    def start(self):
        """Start the system's processes (compare.py then waits for a first
        round trip, up to `startSeconds`, before it measures anything)."""
        raise NotImplementedError

    def stop(self):
        """Stop every process start() began, and drop the system's data.

        The workers stay listed, so their logs can be shown after a failure.
        """
        for worker in self.workers:
            worker.stop()
        if getattr(self, 'backends', None) is not None:
            self.backends.close()

    def enqueueOne(self, k):
        """Submit one `echo` job with input {'i': k}; return its handle."""
        raise NotImplementedError

    def enqueueMany(self, ks):
        """Submit one job per k in as few calls as the system allows."""
        raise NotImplementedError

    def waitOne(self, handle, timeout):
        """Block until the job's result is readable; raise if it failed."""
        raise NotImplementedError

    def unfinished(self, handles):
        """Return the handles whose result is not readable yet.

        Raises BenchError for a job that ended in error: a failed job must
        never count as done.
        """
        raise NotImplementedError

    def rss(self):
        """Resident memory, in bytes, of every process the system runs."""
        return sum(worker.rss() for worker in self.workers)

    def cpuRoots(self):
        """The processes whose CPU a burst costs (cpu.Snapshot's roots):
        the system's own ('server': every process started here, with
        whatever it forks) and its broker's ('broker').  On PostgreSQL,
        also the backends serving the system's own `database`
        ('database'), a part of 'broker' that other sessions do not
        touch.  Asked again at the end of a burst, for new backends."""
        roots = {'server': [worker.pid for worker in self.workers],
                 'broker': brokerRoots(self.broker) if self.broker else []}
        if self.broker == 'postgresql':
            if getattr(self, 'backends', None) is None:
                self.backends = Backends(self.database)
            roots['database'] = self.backends.pids()
        return roots

    def offered(self):
        """The optional features (ADD_AND_WAIT, PROGRESS) the running
        system offers, as a dict: feature -> None if offered, else why not
        (a line for a person).  Known once start() returned."""
        return {feature: 'not offered'
                for feature in (ADD_AND_WAIT, PROGRESS)}

    def addAndWait(self, k, timeout=30):
        """ADD_AND_WAIT: submit one `echo` job and get it back finished, in
        one call to the system; raise if it did not complete."""
        raise NotImplementedError

    def enqueueManyProgress(self, ks):
        """PROGRESS: as enqueueMany, for the `progress` task (it reports
        progress 100 times, then returns its input)."""
        raise NotImplementedError

    def waitAll(self, handles, timeout=waitSeconds):
        """Block until every job's result is readable."""
        deadline = time.monotonic() + timeout
        if handles:
            self.waitOne(handles[-1], timeout)
        pending = list(handles)
        while pending:
            pending = self.unfinished(pending)
            if not pending:
                break
            if time.monotonic() > deadline:
                raise BenchError(f'{len(pending)} jobs still unfinished '
                                 f'after {timeout} s')
            time.sleep(pollSeconds)

    def roundTrip(self, k, timeout=30):
        """Submit one job and return once its result is readable."""
        self.waitOne(self.enqueueOne(k), timeout)

    def startWorker(self, label, argv, env=None):
        """Start a process of this system, logging to the work directory."""
        worker = Worker(label, argv, self.workDir, env)
        self.workers.append(worker)
        return worker


def pollUntil(predicate, timeout, what, interval=pollSeconds):
    """Call predicate until it returns a true value; return that value."""
    deadline = time.monotonic() + timeout
    while True:
        value = predicate()
        if value:
            return value
        if time.monotonic() > deadline:
            raise BenchError(f'timed out after {timeout} s waiting for {what}')
        time.sleep(interval)


_running = []


class Worker:
    """A process of a system under test, in a process group of its own."""

    def __init__(self, label, argv, workDir, env=None):
        self.label = label
        self.logPath = Path(workDir) / f'{label}.log'
        self.log = open(self.logPath, 'wb')
        env = dict(env or {})
        fullEnv = dict(os.environ)
        # The worker-side modules (celeryapp, hueyapp...) live beside this.
        fullEnv['PYTHONPATH'] = os.pathsep.join(filter(None, [
            env.pop('PYTHONPATH', None), str(here),
            os.environ.get('PYTHONPATH')]))
        fullEnv.update(env)
        self.process = subprocess.Popen(
            argv, cwd=workDir, env=fullEnv, stdin=subprocess.DEVNULL,
            stdout=self.log, stderr=subprocess.STDOUT, start_new_session=True)
        _running.append(self)

    @property
    def pid(self):
        return self.process.pid

    def checkAlive(self):
        """Raise, with the end of its log, if the process has exited."""
        if self.process.poll() is not None:
            raise BenchError(f'{self.label} exited with status '
                             f'{self.process.returncode}:\n{self.logTail()}')

    def logTail(self, lines=30):
        if not self.log.closed:
            self.log.flush()
        text = self.logPath.read_text(errors='replace').splitlines()
        return '\n'.join(['    ' + line for line in text[-lines:]]
                         + [f'    (log: {self.logPath})'])

    def rss(self):
        """VmRSS of the process and all its descendants, summed."""
        return sum(_vmRss(pid) for pid in _tree(self.pid))

    def rssSplit(self):
        """(VmRSS of the process itself, of its descendants summed): for
        twistd, the server and its worker processes."""
        own, *descendants = _tree(self.pid)
        return _vmRss(own), sum(_vmRss(pid) for pid in descendants)

    def stop(self, timeout=15):
        """SIGTERM the whole group, then SIGKILL whatever of it lingers."""
        if self not in _running:
            return  # Stopped already: its group id may belong to another.
        _running.remove(self)
        _killGroup(self.pid, signal.SIGTERM)
        try:
            self.process.wait(timeout)
        except subprocess.TimeoutExpired:
            pass
        # Stragglers of the group, or a leader that ignored SIGTERM.
        _killGroup(self.pid, signal.SIGKILL)
        try:
            self.process.wait(5)
        except subprocess.TimeoutExpired:
            pass
        self.log.close()


def measuredIn(prefix, measure):
    """``measure(runDir)``, run in a new directory named from ``prefix``,
    and every process a bench started stopped after it. The directory
    goes after a success; after a failure it stays (the logs are there)
    and None comes back, the failure printed with where the logs are."""
    runDir = Path(tempfile.mkdtemp(prefix=prefix))
    try:
        result = measure(runDir)
    except Exception as error:  # Reported, with where the logs are.
        print(f'\nFAILED: {type(error).__name__}: {error}\n'
              f'logs kept in {runDir}')
        return None
    finally:
        stopAll()
    shutil.rmtree(runDir, ignore_errors=True)
    return result


def _killGroup(pgid, sig):
    try:
        os.killpg(pgid, sig)
    except ProcessLookupError:
        pass


def stopAll():
    """Stop every worker still running: the last line of defence."""
    for worker in list(_running):
        worker.stop(timeout=5)


def _children():
    """Map of pid -> child pids, read from /proc."""
    children = {}
    for entry in os.listdir('/proc'):
        if not entry.isdigit():
            continue
        try:
            stat = Path(f'/proc/{entry}/stat').read_text()
        except OSError:
            continue
        # The command name may hold spaces and parentheses: split after it.
        ppid = int(stat.rsplit(')', 1)[1].split()[1])
        children.setdefault(ppid, []).append(int(entry))
    return children


def _tree(pid):
    children = _children()
    pids, todo = [], [pid]
    while todo:
        current = todo.pop()
        pids.append(current)
        todo.extend(children.get(current, []))
    return pids


def _vmRss(pid):
    try:
        for line in Path(f'/proc/{pid}/status').read_text().splitlines():
            if line.startswith('VmRSS:'):
                return int(line.split()[1]) * 1024
    except OSError:
        pass
    return 0


# The machine's PostgreSQL: loopback, trust auth for user postgres.
postgresServer = 'host=127.0.0.1 port=5432 user=postgres'


def recreateDatabase(name, create=True):
    """Drop the database `name` (closing its sessions); create it anew if
    `create`.  Each PostgreSQL system runs in a database of its own, so
    that dropping it drops nothing else on the server."""
    import psycopg
    with psycopg.connect(f'{postgresServer} dbname=postgres',
                         autocommit=True) as db:
        db.execute(f'DROP DATABASE IF EXISTS {name} WITH (FORCE)')
        if create:
            db.execute(f'CREATE DATABASE {name}')


class Backends:
    """The PostgreSQL backends serving one database, from pg_stat_activity
    over one connection (to the `postgres` database) kept open, so that
    asking does not start a backend of its own while a burst runs."""

    def __init__(self, database):
        self.database = database
        self.connection = None

    def pids(self):
        import psycopg
        if self.connection is None:
            self.connection = psycopg.connect(
                f'{postgresServer} dbname=postgres', autocommit=True)
        return [pid for pid, in self.connection.execute(
            'SELECT pid FROM pg_stat_activity WHERE datname = %s',
            (self.database,))]

    def close(self):
        if self.connection is not None:
            self.connection.close()
            self.connection = None


def venvScript(name):
    """The path of a console script installed beside this interpreter."""
    return str(Path(sys.executable).parent / name)
