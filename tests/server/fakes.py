"""Stand-ins at the edges of the reactor-side parts, for task.Clock tests.

Only what is outside the part under test is faked: a ``write`` whose
Deferreds the test fires by hand, a pool that records what it is given,
and a reactor that "spawns" processes on in-memory transports. The parts
themselves, the TaskService and its store (SQLite in memory) are real.
"""

from twisted.internet import defer, error, task
from twisted.python.failure import Failure

from remotetask import SimpleTask, TaskService
from remotetask.server.pipeline.dispatcher import Dispatcher
from remotetask.server.workers.workerprotocol import PREFIX, decode, frame
from tests import tasks


def makeService():
    service = TaskService()
    service.registry.register('echo', SimpleTask(tasks.echo))
    service.registry.register('sleep', SimpleTask(tasks.sleep))
    return service


def synchronous(function, *args, **kwargs):
    """A ``read``/``write`` that runs the call at once (a store in memory)."""
    return defer.maybeDeferred(function, *args, **kwargs)


class RecordingReactor:
    """Keeps what is handed to the reactor thread (``callFromThread``),
    for the test to run when it says (``runAll``)."""

    def __init__(self):
        self.calls = []

    def callFromThread(self, function, *args):
        self.calls.append((function, args))

    def runAll(self):
        calls, self.calls = self.calls, []
        for function, args in calls:
            function(*args)


class HeldWrites:
    """A ``write`` whose calls wait until the test lets them run."""

    def __init__(self):
        self.calls = []

    def __call__(self, function, *args, **kwargs):
        d = defer.Deferred()
        self.calls.append((d, function, args, kwargs))
        return d

    def runNext(self):
        """Run the oldest waiting call now and fire its Deferred."""
        d, function, args, kwargs = self.calls.pop(0)
        try:
            result = function(*args, **kwargs)
        except Exception:
            d.errback(Failure())
        else:
            d.callback(result)

    def failNext(self, exception):
        d, _, _, _ = self.calls.pop(0)
        d.errback(exception)

    def runNextThenFail(self, exception):
        """Run the oldest waiting call, then fire its Deferred with
        ``exception``, as a store that committed the call but lost the
        connection before it could say so."""
        d, function, args, kwargs = self.calls.pop(0)
        function(*args, **kwargs)
        d.errback(exception)


class FakePool:
    """A pool with ``size`` workers of ``depth`` jobs each, which records
    the runs it is given (the in-flight table's) and ends jobs only when
    the test says; ``submits`` counts its calls."""

    queuesAhead = True

    def __init__(self, size=2, queuesAhead=True):
        self.size = size
        self.depth = 1
        self.queuesAhead = queuesAhead
        self.given = []
        self.stopped = []
        self.submits = 0
        self.handler = None

    def capacity(self):
        per = self.depth if self.queuesAhead else 1
        return max(0, self.size * per - len(self.given))

    def submit(self, runs):
        assert len(runs) <= self.capacity()
        self.submits += 1
        for run in runs:
            run.phase, run.worker = 'sent', self
        self.given.extend(runs)

    def start(self, run, clock):
        """The worker starts ``run`` now: told to the handler."""
        run.phase, run.startedAt = 'running', clock.seconds()
        self.handler.jobStarted(run)

    live = property(lambda self: self.size)
    busy = property(lambda self: len(self.given))

    def stopJob(self, run, reason):
        self.stopped.append((run.id, reason))

    def recallWaiting(self):
        pass

    def kill(self):
        pass


class FakeProcess:
    """The transport of a "spawned" worker: what the server writes to it
    is kept as messages; ``exit()`` ends it as a real process ends."""

    pid = None  # os.killpg(None) fails, so stopping uses signalProcess

    def __init__(self, protocol, reactor):
        self.protocol = protocol
        self.reactor = reactor
        self.written = b''
        self.signals = []
        self.stdinClosed = False
        self.exited = False

    def write(self, data):
        self.written += data

    def writeSequence(self, data):
        self.write(b''.join(data))

    def frames(self):
        """What the server sent, a list of ``[(header, body)]`` per
        message, and forget it."""
        found, data = [], self.written
        while data:
            length, = PREFIX.unpack_from(data)
            found.append(decode(data[PREFIX.size:PREFIX.size + length]))
            data = data[PREFIX.size + length:]
        self.written = b''
        return found

    def messages(self):
        """What the server sent, as ``(header, body)``, and forget it."""
        return [message for found in self.frames() for message in found]

    def reply(self, header, body=None):
        """The worker says something, in a message of its own."""
        self.protocol.outReceived(frame([(header, body)]))

    def replyAll(self, *messages):
        """The worker says several things in one message."""
        self.protocol.outReceived(frame(list(messages)))

    def signalProcess(self, name):
        if self.exited:
            raise error.ProcessExitedAlready()
        self.signals.append(name)
        self.exit()

    def closeStdin(self):
        self.stdinClosed = True
        self.exit()

    def loseConnection(self):
        self.exit()

    def exit(self):
        if not self.exited:
            self.exited = True
            self.protocol.processEnded(Failure(error.ProcessTerminated(
                signal=9)))


class ProcessReactor(task.Clock):
    """A Clock that spawns FakeProcesses; ``refuse`` makes the next
    spawns fail as a system out of file descriptors does."""

    def __init__(self):
        super().__init__()
        self.processes = []
        self.refuse = 0

    def spawnProcess(self, protocol, executable, args, env=None, **kw):
        if self.refuse:
            self.refuse -= 1
            raise OSError(24, 'Too many open files')
        process = FakeProcess(protocol, self)
        self.processes.append(process)
        protocol.makeConnection(process)
        return process


def direct(function, *args):
    return function(*args)


def makeDispatcher(size=2, write=synchronous, grace=30.0):
    service, clock, pool = makeService(), task.Clock(), FakePool(size)
    dispatcher = Dispatcher(service, pool, synchronous, write, direct,
                            clock=clock, grace=grace)
    ended = []
    dispatcher.onJobEnded = lambda *args: ended.append(args)
    return dispatcher, service, pool, clock, ended


def start(dispatcher, run):
    """The pool starts ``run`` (stamped on the dispatcher's clock)."""
    dispatcher.pool.start(run, dispatcher.clock)
