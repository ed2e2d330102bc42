"""Writes to the store, in groups: one transaction for whatever is
pending.

A commit is the expensive part of a write (a WAL append on SQLite, a round
trip on PostgreSQL); the statements in it are cheap. So a server's writes
(adds, claims, starts and ends of runs, cancels) go to a writer that takes
every call pending when it is free and runs them all in one
``store.transaction()`` (on a shared store the clients' writes have a
writer of their own, ``daemon.tap.clientWriter``). Where the transaction
runs, on the reactor thread or the writer's own, is said below. Under
load, batches grow by themselves; an idle server commits each call at
once. Nothing is answered before its transaction committed.

A call that refuses (a ``RemoteTaskError`` such as ``NoSuchTask``) writes
nothing (``IJobStore``), so it fails alone and the others commit. Any
other failure rolls the batch back; then each call is tried alone, so
that one bad call cannot fail the others. A store that lost its
connection before committing is tried once more at once; a store that
is unavailable fails the whole batch at once (fault 6, nothing written:
safe to try again), since trying each call alone would only make each
wait for it in turn.

The writes one reactor turn produces (a job's end and the claim that
refills its worker, the adds of several clients) share a transaction,
at no cost in latency (the turn is microseconds). On a store whose
commits take microseconds and never wait on the disk (``IQuickWrites``:
SQLite in WAL mode with ``synchronous = NORMAL``), that transaction is
run on the reactor thread itself at the end of the turn: handing it to
a thread and its answers back cost more than the writes (measured in
issue 18: a fifth of the server's CPU per job, one add per call). The
thread then takes only what must not run there: a batch with a write
that may take long (``core.longwrites``), one that finds the store's
lock held by another thread (retention, a read pool's write), the calls
that follow those until it is idle again (so that they keep their
order), and the checkpoints that move the log into the file (with their
fsync). Elsewhere (PostgreSQL: a round trip per statement; SQLite with
``synchronous = FULL``: an fsync per commit) every batch goes to the
thread, woken once per turn.

A batch run on the reactor thread may take on more calls at its end,
before its commit: ``beforeCommit(join)`` is called there, and each
``join(f, *args)`` it makes runs in the same transaction and is answered
with the batch. The feeder joins its claim so to the batch whose add
made a job claimable: the claim sees the job, and the pair costs one
transaction and one turn instead of two (issue 18).
"""

import collections
import threading

from twisted.application.service import Service
from twisted.internet import defer
from twisted.logger import Logger
from twisted.python.failure import Failure

from remotetask.core.longwrites import takesLong
from remotetask.errors import (
    RemoteTaskError, StoreOutcomeUnknown, StoreUnavailable)
from remotetask.core.interfaces import IQuickWrites
from remotetask.server.pipeline.relay import ThreadRelay

#: What the thread is given when a checkpoint is due rather than a batch.
CHECKPOINT = object()


class StoreWriter(Service):
    """``call(f, *args)``: run ``f(*args)`` inside the batch's
    transaction, on the reactor thread or the writer's (see the module
    docstring); a Deferred of its result.

    ``maxPending`` bounds the calls waiting: past it a call fails at once
    with ``StoreUnavailable`` (the store cannot keep up; try again), so
    that a flood of clients cannot queue without end. ``maxBatch`` bounds
    one transaction. ``inline`` (by default: whether the store provides
    ``IQuickWrites``) commits on the reactor thread, with a checkpoint in
    the thread after every ``checkpointEvery`` batches committed there.
    """

    name = 'store-writer'
    log = Logger()

    #: ``beforeCommit(join)``, or None: see the module docstring.
    beforeCommit = None

    def __init__(self, store, relay=None, maxBatch=1000, maxPending=10000,
                 reactor=None, inline=None, checkpointEvery=100):
        if reactor is None:
            from twisted.internet import reactor
        self.reactor = reactor
        self.store = store
        self.relay = relay or ThreadRelay(reactor)
        self.maxBatch = maxBatch
        self.maxPending = maxPending
        self.inline = (IQuickWrites.providedBy(store) if inline is None
                       else inline)
        self.checkpointEvery = checkpointEvery
        self._pending = collections.deque()
        # The condition's lock, taken as it is where nothing waits or is
        # notified (each call, each turn): Condition's own ``with`` is
        # two Python calls more around the same lock.
        self._lock = threading.Lock()
        self._condition = threading.Condition(self._lock)
        # Whether the thread runs what is pending (always, unless inline):
        # set by the reactor, cleared by the thread once it has run all.
        self._handedOff = not self.inline
        self._checkpointWanted = False
        self._sinceCheckpoint = 0
        self._stopping = False
        self._thread = None
        self._ended = None
        self._wakeUp = None
        #: Batches committed and calls run, for the curious (tests, bench).
        self.batches = self.calls = 0

    def call(self, function, *args, **kwargs):
        if self._thread is None or self._stopping:
            return defer.fail(StoreUnavailable(
                'The server is stopping; the store takes no more writes.'))
        d = defer.Deferred()
        with self._lock:
            if len(self._pending) >= self.maxPending:
                return defer.fail(StoreUnavailable(
                    f'The store has {self.maxPending} writes waiting; try '
                    'again shortly.'))
            self._pending.append((d, function, args, kwargs))
        if self._wakeUp is None:
            self._wakeUp = self.reactor.callLater(0, self._endOfTurn)
        return d

    def _endOfTurn(self):
        """Run what the turn queued: here, or in the thread."""
        self._wakeUp = None
        with self._lock:
            handedOff = self._handedOff
            batch = None if handedOff else self._take()
        if batch:
            self._runHere(batch)
        if handedOff:
            with self._condition:
                self._condition.notify()
        elif self._pending and self._wakeUp is None:
            # More than one batch: the rest in the next turn.
            self._wakeUp = self.reactor.callLater(0, self._endOfTurn)

    def _take(self):
        """The next batch (the condition held)."""
        return [self._pending.popleft() for _ in
                range(min(self.maxBatch, len(self._pending)))]

    def _runHere(self, batch):
        """Commit ``batch`` on the reactor thread and answer it, unless it
        may take long or the store is busy: then the thread takes it, and
        what follows it."""
        results = None
        if not any(takesLong(*call[1:4]) for call in batch):
            try:
                with self.store.writingNow() as now:
                    if now:
                        results = self._execute(batch, here=True)
            except Exception:
                results = [Failure()] * len(batch)
        if results is None:
            with self._condition:
                self._pending.extendleft(reversed(batch))
                self._handedOff = True
                self._condition.notify()
            return
        self.batches += 1
        self.calls += len(batch)
        self._sinceCheckpoint += 1
        if self._sinceCheckpoint >= self.checkpointEvery:
            self._sinceCheckpoint = 0
            with self._condition:
                self._checkpointWanted = True
                self._condition.notify()
        _deliver(batch, results)

    # The writer thread

    def _run(self):
        while True:
            batch = self._next()
            if batch is None:
                break
            if batch is CHECKPOINT:
                self._checkpoint()
                continue
            results = self._execute(batch)
            self.batches += 1
            self.calls += len(batch)
            self.relay(_deliver, batch, results)
        self.relay(self._ended.callback, None)

    def _next(self):
        """Wait for the next batch handed to the thread, a checkpoint, or
        the end (None)."""
        with self._condition:
            while True:
                if self._handedOff and self._pending:
                    return self._take()
                if self.inline:
                    self._handedOff = False
                if self._checkpointWanted:
                    self._checkpointWanted = False
                    return CHECKPOINT
                if self._stopping:
                    return None
                self._condition.wait()

    def _checkpoint(self):
        try:
            self.store.checkpoint()
        except Exception:
            self.log.failure('A checkpoint of the store failed; the next '
                             'one will try again')

    def _execute(self, batch, here=False):
        """The results of ``batch`` (a value or a Failure each); ``here``:
        on the reactor thread, where calls may join it (``beforeCommit``,
        which appends them to ``batch``)."""
        for attempt in (1, 2):
            try:
                with self.store.transaction():
                    results = [self._attempt(call) for call in batch]
                    if here and self.beforeCommit is not None:
                        results += self._joined(batch)
                    return results
            except StoreOutcomeUnknown:
                failure = Failure()
                return [failure] * len(batch)
            except StoreUnavailable as error:
                if attempt == 1 and error.connectionLost:
                    continue
                failure = Failure()
                return [failure] * len(batch)
            except Exception:
                if len(batch) == 1:
                    return [Failure()]
                break
        return [self._alone(call) for call in batch]

    def _joined(self, batch):
        """Run the calls ``beforeCommit`` joins to ``batch``, appended
        to it; their results."""
        joined = []

        def join(function, *args):
            d = defer.Deferred()
            joined.append((d, function, args, {}))
            return d
        self.beforeCommit(join)
        batch.extend(joined)
        return [self._attempt(call) for call in joined]

    @staticmethod
    def _attempt(call):
        """One call inside the batch: a refusal fails it alone; anything
        else aborts the batch."""
        _, function, args, kwargs = call
        try:
            return function(*args, **kwargs)
        except StoreUnavailable:
            raise
        except RemoteTaskError:
            return Failure()

    def _alone(self, call):
        _, function, args, kwargs = call
        try:
            with self.store.transaction():
                return function(*args, **kwargs)
        except Exception:
            return Failure()

    # Starting and stopping

    def startService(self):
        super().startService()
        self._stopping = False
        self._ended = defer.Deferred()
        self._thread = threading.Thread(target=self._run,
                                        name=f'remotetask-{self.name}',
                                        daemon=True)
        self._thread.start()

    def stopService(self):
        """Run what is pending, then end the thread; the Deferred fires
        when it has."""
        super().stopService()
        with self._condition:
            self._stopping = True
            self._handedOff = True
            self._condition.notify()
        ended, self._thread = self._ended, None
        return ended


def _deliver(batch, results):
    for (d, _, _, _), result in zip(batch, results):
        if isinstance(result, Failure):
            result.cleanFailure()
            d.errback(result)
        else:
            d.callback(result)
