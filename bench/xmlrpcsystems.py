"""The two systems spoken to over XML-RPC: remotetask and the bare ceiling.

Both are driven with the stdlib `xmlrpc.client`, one call at a time or in
`system.multicall` batches, as a legacy client of remotetask would.
"""

import importlib.util
import sys
import time
import xmlrpc.client

from adapter import (
    Adapter, BenchError, here, pollUntil, venvScript)

# Jobs checked per system.multicall when looking for unfinished ones.
checkBatch = 500


class RemoteTask(Adapter):
    """remotetask's daemon under twistd, with its default store and pool.

    "Done" is `getStatus(id) == 'completed'`: the job's output is in the
    store and readable with getResult.  The server's `wait` blocks until
    then, so no polling is involved.  A PostgreSQL column is a subclass
    that overrides `storeSpec` (and creates and drops its database).
    """

    name = 'remotetask'
    description = ('twistd, SQLite store, process pool of 2 '
                   '(RSS: twistd + its workers, summed)')

    def storeSpec(self):
        return f'sqlite:{self.workDir / "jobs.sqlite"}'

    def start(self):
        if importlib.util.find_spec('remotetask') is None:
            raise BenchError('remotetask is not installed in this venv: '
                             'bench/run runs `pip install -e .`; see its '
                             'output for why that failed')
        portFile = self.workDir / 'remotetask.port'
        # pip's default editable install maps packages through an import
        # hook, which twistd's plugin scan of twisted/plugins/ does not see;
        # the checkout on the path shows it remotetask_plugin.py, as the
        # acceptance tests do.
        env = {'PYTHONPATH': str(here.parent)}
        self.server = self.startWorker('remotetask', [
            venvScript('twistd'), '-n', '--pidfile=', 'remotetask',
            '--listen', 'tcp:0:interface=127.0.0.1',
            '--portfile', str(portFile),
            '--store', self.storeSpec(),
            '--examples', '--workers', '2'], env)
        self.proxy = proxyFor(readPort(portFile, self.server))

    def enqueueOne(self, k):
        return self.proxy.add('echo', {'i': k})

    def enqueueMany(self, ks):
        return multicall(self.proxy, 'add', [('echo', {'i': k}) for k in ks])

    def waitOne(self, jobId, timeout):
        deadline = time.monotonic() + timeout
        while True:
            # The server holds one wait for at most 60 s.
            remaining = deadline - time.monotonic()
            status = self.proxy.wait(jobId, max(1, min(remaining, 60)))
            if status == 'completed':
                return
            if status not in ('queued', 'processing') or remaining <= 0:
                raise BenchError(f'job {jobId} is {status!r} after wait()')

    def unfinished(self, jobIds):
        pending = []
        for start in range(0, len(jobIds), checkBatch):
            batch = jobIds[start:start + checkBatch]
            statuses = multicall(self.proxy, 'getStatus',
                                 [(jobId,) for jobId in batch])
            for jobId, status in zip(batch, statuses):
                if status in ('queued', 'processing'):
                    pending.append(jobId)
                elif status != 'completed':
                    raise BenchError(f'job {jobId} ended {status!r}')
        return pending


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
