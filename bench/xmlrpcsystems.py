"""The systems spoken to over XML-RPC: remotetask and the bare ceiling.

remotetask is measured on SQLite, on PostgreSQL, and as two daemons sharing
one PostgreSQL database. All are driven with the stdlib `xmlrpc.client`,
one call at a time or in `system.multicall` batches, as a legacy client of
remotetask would.
"""

import importlib.util
import itertools
import shlex
import sys
import time
import xmlrpc.client
from pathlib import Path

from adapter import (
    ADD_AND_WAIT, PROGRESS, Adapter, BenchError, here, pollUntil,
    recreateDatabase, venvScript)

# Jobs checked per system.multicall when looking for unfinished ones.
checkBatch = 500
# The task of bench/progresstask.py, given to the daemon with --task when
# remotetask offers reportProgress (issue 13).
progressTask = 'progress=progresstask:progress'


class RemoteTask(Adapter):
    """remotetask's daemon under twistd, with its default store and pool.

    "Done" is `getStatus(id) == 'completed'`: the job's output is in the
    store and readable with getResult.  The server's `wait` blocks until
    then, so no polling is involved.  A handle is (daemon, job id): the
    subclasses below run the store on PostgreSQL, and one of them runs two
    daemons, which the producer's calls go to in turn.
    """

    name = 'remotetask'
    description = ('twistd, SQLite store, process pool of 2 '
                   '(RSS: twistd + its workers, summed)')
    # (label, --workers) of each daemon; `wait` goes to the daemon the job
    # was added on, since a client cannot know which one ran it.
    daemons = [('remotetask', 2)]
    optionalFeatures = (ADD_AND_WAIT, PROGRESS)
    # The checkout whose remotetask the daemons run (withCheckout).
    checkout = here.parent

    def storeSpec(self):
        return f'sqlite:{self.workDir / "jobs.sqlite"}'

    def start(self):
        if importlib.util.find_spec('remotetask') is None:
            raise BenchError('remotetask is not installed in this venv: '
                             'bench/run runs `pip install -e .`; see its '
                             'output for why that failed')
        self.features = {PROGRESS: reportProgressMissing()
                         if self.checkout == here.parent else
                         'not offered (measured on this checkout only)'}
        # All daemons start at once, as a deployment's would; each reports
        # its port when it listens, after its store is open.
        started = [(self.startDaemon(label, workers), label)
                   for label, workers in self.daemons]
        self.proxies = [
            proxyFor(readPort(self.workDir / f'{label}.port', server))
            for server, label in started]
        self.turn = itertools.cycle(range(len(self.proxies)))
        methods = self.proxies[0].system.listMethods()
        self.features[ADD_AND_WAIT] = (
            None if ADD_AND_WAIT in methods else
            'not offered (no addAndWait in system.listMethods)')
        if self.features[PROGRESS] is None and 'progress' not in \
                self.proxies[0].getAvailableTasks():
            self.features[PROGRESS] = (
                'not offered (the daemon did not register --task '
                f'{progressTask})')

    def offered(self):
        return {**super().offered(), **getattr(self, 'features', {})}

    def startDaemon(self, label, workers):
        # pip's default editable install maps packages through an import
        # hook, which twistd's plugin scan of twisted/plugins/ does not see;
        # the checkout on the path shows it remotetask_plugin.py, as the
        # acceptance tests do.
        env = {'PYTHONPATH': str(self.checkout)}
        return self.startWorker(label, [
            venvScript('twistd'), '-n', '--pidfile=',
            *self.twistdOptions(label), 'remotetask',
            '--listen', 'tcp:0:interface=127.0.0.1',
            '--portfile', str(self.workDir / f'{label}.port'),
            '--store', self.storeSpec(),
            '--examples', '--workers', str(workers)]
            + (['--task', progressTask]
               if self.features[PROGRESS] is None else [])
            + self.daemonOptions(label), env)

    def daemonOptions(self, label):
        """Options of `twistd remotetask` for the daemon `label`."""
        return []

    def twistdOptions(self, label):
        """Options of twistd itself (bench/profile's --profile)."""
        return []

    def enqueueOne(self, k):
        daemon = next(self.turn)
        return daemon, self.proxies[daemon].add('echo', {'i': k})

    def enqueueMany(self, ks, task='echo'):
        daemon = next(self.turn)
        jobIds = multicall(self.proxies[daemon], 'add',
                           [(task, {'i': k}) for k in ks])
        return [(daemon, jobId) for jobId in jobIds]

    def enqueueManyProgress(self, ks):
        return self.enqueueMany(ks, 'progress')

    def addAndWait(self, k, timeout=30):
        """One call: `addAndWait(task, input, timeout)` returns the job's
        struct, finished or as it stands at the timeout (issue 10)."""
        daemon = next(self.turn)
        job = self.proxies[daemon].addAndWait(
            'echo', {'i': k}, max(1, min(timeout, 60)))
        status = job.get('status') if isinstance(job, dict) else job
        if status != 'completed':
            raise BenchError(f'addAndWait returned a job {status!r}: {job!r}')

    def waitOne(self, handle, timeout):
        daemon, jobId = handle
        deadline = time.monotonic() + timeout
        while True:
            # The server holds one wait for at most 60 s.
            remaining = deadline - time.monotonic()
            status = self.proxies[daemon].wait(
                jobId, max(1, min(remaining, 60)))
            if status == 'completed':
                return
            if status not in ('queued', 'processing') or remaining <= 0:
                raise BenchError(f'job {jobId} is {status!r} after wait()'
                                 + self.errorOf(daemon, jobId, status))

    def unfinished(self, handles):
        pending = []
        for start in range(0, len(handles), checkBatch):
            batch = handles[start:start + checkBatch]
            # Every daemon reads the same store: take turns.
            proxy = self.proxies[start // checkBatch % len(self.proxies)]
            statuses = multicall(proxy, 'getStatus',
                                 [(jobId,) for _, jobId in batch])
            for handle, status in zip(batch, statuses):
                if status in ('queued', 'processing'):
                    pending.append(handle)
                elif status != 'completed':
                    raise BenchError(f'job {handle[1]} ended {status!r}'
                                     + self.errorOf(*handle, status))
        return pending

    def errorOf(self, daemon, jobId, status):
        """': ' and the job's error, for a job that ended in error."""
        if status != 'error':
            return ''
        try:
            return f': {self.proxies[daemon].getError(jobId)}'
        except Exception as error:  # Only a detail of a message.
            return f' (getError failed: {error})'


def withDaemonOptions(systemClass, options):
    """systemClass, with `options` (a list of words) added to the command
    line of each of its remotetask daemons: to measure an option of the
    daemon (--daemon-options of bench/run, bench/cpu, bench/profile)."""
    if not options or not issubclass(systemClass, RemoteTask):
        return systemClass

    class WithOptions(systemClass):
        def daemonOptions(self, label):
            return super().daemonOptions(label) + list(options)
    return WithOptions


def withCheckout(systemClass, checkout):
    """systemClass, its daemons running the remotetask of another checkout
    (its directory on their PYTHONPATH, before this one's editable
    install), to compare two versions in one run (bench/cpu --versus)."""
    class OtherCheckout(systemClass):
        pass
    OtherCheckout.checkout = Path(checkout).resolve()
    OtherCheckout.name = f'{systemClass.name} ({checkout})'
    return OtherCheckout


def daemonOptionsArgument(parser):
    """Add --daemon-options to a bench's parser; its value is a list."""
    parser.add_argument(
        '--daemon-options', dest='daemonOptions', type=shlex.split,
        default=[],
        help='more options of `twistd remotetask` for every remotetask '
        'daemon, as one string: --daemon-options="--log-jobs none"')


def burstArguments(parser, n, batchedN):
    """Add the options of a bench of two bursts of adds beside the bare
    call (bench/cpu, bench/instructions): their sizes (``n`` single adds,
    ``batchedN`` in multicalls), the warm-up, another checkout to compare
    with, and --daemon-options."""
    parser.add_argument('--n', type=int, default=n,
                        help=f'adds in the single-call bursts ({n})')
    parser.add_argument('--batched-n', dest='batchedN', type=int,
                        default=batchedN,
                        help=f'adds in the batched burst ({batchedN})')
    parser.add_argument('--batch', type=int, default=500,
                        help='adds per multicall (500)')
    parser.add_argument('--warmup', type=int, default=20,
                        help='round trips before measuring (20)')
    parser.add_argument('--versus', default=None, metavar='CHECKOUT',
                        help='another checkout of remotetask (a directory '
                        'with remotetask/ and twisted/plugins/), measured '
                        'beside this one in the same run')
    daemonOptionsArgument(parser)


def checkBurstArguments(parser, arguments, *more):
    """Refuse what ``burstArguments`` cannot measure: a size below 1 (or
    another count, ``more``: ``(attribute, option)`` pairs), a --versus
    with no remotetask in it."""
    counts = [('n', '--n'), ('batchedN', '--batched-n'),
              ('batch', '--batch'), *more]
    if min(getattr(arguments, name) for name, _ in counts) < 1:
        parser.error(', '.join(option for _, option in counts)
                     + ' must be >= 1')
    if arguments.versus and not (
            Path(arguments.versus) / 'remotetask').is_dir():
        parser.error(f'--versus: no remotetask/ in {arguments.versus}')


def reportProgressMissing():
    """None if the remotetask installed here offers `reportProgress` (issue
    13), else why the progress row is not measured."""
    try:
        import remotetask
    except Exception as error:  # Its own column says why, at start().
        return f'not offered (remotetask does not import: {error})'
    if not callable(getattr(remotetask, 'reportProgress', None)):
        return 'not offered (no remotetask.reportProgress)'
    return None


class RemoteTaskPostgres(RemoteTask):
    """remotetask on PostgreSQL: one daemon, a process pool of 2.

    Its store is a database of its own, created here and dropped after, as
    procrastinate's.  Durability: the store commits each add with
    synchronous_commit on, PostgreSQL's default: an acknowledged job is on
    disk.
    """

    name = 'remotetask-pg'
    broker = 'postgresql'
    database = 'bench_remotetask'
    description = ('twistd, PostgreSQL store (own database), process pool '
                   'of 2')

    def storeSpec(self):
        return f'postgresql://postgres@127.0.0.1:5432/{self.database}'

    def start(self):
        recreateDatabase(self.database)
        super().start()

    def stop(self):
        super().stop()
        recreateDatabase(self.database, create=False)

    def daemonOptions(self, label):
        # A readable name in the jobs' owner column and pg_stat_activity.
        return ['--server-id', f'bench-{label}']


class RemoteTaskPostgresPair(RemoteTaskPostgres):
    """Two remotetask daemons sharing one PostgreSQL database, one worker
    each: the same two workers as every other row, split across servers.

    The producer sends its calls to the two in turn (an add or a batch to
    one, the next to the other), and waits for a job on the daemon it was
    added on.  Either daemon may run it: both are woken by NOTIFY when a
    job is added.  A daemon learns that a job finished on the other one
    only by its once-a-second check of the jobs waited for, so a round
    trip whose job the other daemon ran takes up to a second longer.
    """

    name = 'remotetask-pg2'
    description = ('2 twistd daemons on one PostgreSQL database, 1 worker '
                   'process each; calls round-robin, wait on the daemon '
                   'added to (a job finished on the other is seen within '
                   '1 s)')
    daemons = [('remotetask-a', 1), ('remotetask-b', 1)]


class Ceiling(Adapter):
    """A trivial Twisted XML-RPC `echo` server: the protocol's own limit.

    A call is its own result, so enqueue and end-to-end rates are the same
    measurement: calls/s one at a time, and multicall calls/s.
    """

    name = 'xmlrpc-echo'
    description = 'ceiling: Twisted XML-RPC echo, no store, no worker'

    def start(self):
        portFile = self.workDir / 'echo.port'
        self.server = self.startWorker('echoserver', [
            sys.executable, str(here / 'echoserver.py'), str(portFile)])
        self.proxy = proxyFor(readPort(portFile, self.server))

    def enqueueOne(self, k):
        return self.proxy.echo({'i': k})

    def enqueueMany(self, ks):
        return multicall(self.proxy, 'echo', [({'i': k},) for k in ks])

    def waitOne(self, handle, timeout):
        pass

    def unfinished(self, handles):
        return []


class TimeoutTransport(xmlrpc.client.Transport):
    """The stdlib transport (keep-alive) with a socket timeout, so no call
    can hang the benchmark."""

    def __init__(self, timeout):
        super().__init__()
        self.timeout = timeout

    def make_connection(self, host):
        connection = super().make_connection(host)
        connection.timeout = self.timeout
        return connection


def proxyFor(port):
    return xmlrpc.client.ServerProxy(
        f'http://127.0.0.1:{port}/', allow_none=True,
        transport=TimeoutTransport(90))


def multicall(proxy, method, argsList):
    """Call `method` once per args tuple in one system.multicall request."""
    calls = xmlrpc.client.MultiCall(proxy)
    for args in argsList:
        getattr(calls, method)(*args)
    return list(calls())


def readPort(portFile, server, timeout=30):
    """The port a server wrote to portFile, once it has written it."""
    def port():
        server.checkAlive()
        try:
            return int(portFile.read_text().strip())
        except (OSError, ValueError):
            return None
    return pollUntil(port, timeout, f'{portFile.name}', interval=0.05)
