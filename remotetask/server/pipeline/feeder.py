"""Keeping every worker fed: claiming due jobs ahead of need, in batches.

A worker that finishes a job should start the next one at once, not wait
for a claim to cross to the store and back. So the feeder holds claimed
jobs ahead of the workers' need and hands them out as room appears. How
far ahead adapts: it is the number of runs that fit in the time a claim
takes (``claimLatency / runTime``), at most ``maxAhead`` per worker. Fast
tasks are claimed many at a time and sent ahead into the workers; when
tasks are slow, nothing is held ahead, so that a job claimed here never
waits behind a long one while an idle server (or worker) could run it.

The claimed jobs are held in the in-flight table (``inflight.py``);
the feeder hands them to the pool, all a turn has room for in one
``submit``. One claim is in flight at a time. The feeder has one wake-up,
``wake``: a committed change that may have made a job claimable (an add,
a retry, a put-back, a run's end under a concurrency limit; on a shared
store, the store's notification, whoever made the change), and the tick.
A wake-up during a claim is answered by one more claim when it returns; a
worker that frees up claims only if the last claim was full (it may have
left jobs behind) or a change came meanwhile.

Where the store's writes run on the reactor thread (``writer.py``), the
claim need not wait for the change's commit: told of the change inside
its transaction (``changePending``), the feeder joins its claim to the
writer's batch (``joinClaim``), after the change, so that it sees it.
The committed wake-ups of that transaction then announce nothing the
claim did not see, and are let pass until the claim is answered (they
come between its commit and its answer). Claimed jobs that wait here
are safe: they have not started, so a ``kill -9`` leaves them claimed
without an attempt counted, recovery puts them back, and on an orderly
stop they go back to the queue before the workers stop.

A claim whose commit was lost (``StoreOutcomeUnknown``: the connection
dropped during COMMIT) may have taken jobs that never reached this side.
They would stay ``processing`` with no one to run them, so each claim has
a token of its own, and such a claim's token is given up
(``releaseClaims``) at once, or at the next wake-up (the tick's, once a
second) while the store is still away.
"""

import secrets

from twisted.internet import defer
from twisted.logger import Logger

from remotetask.errors import StoreOutcomeUnknown, StoreUnavailable


class Average:
    """An exponentially weighted moving average, None until first fed."""

    def __init__(self, weight=0.2):
        self.weight = weight
        self.value = None

    def add(self, sample):
        self.value = sample if self.value is None else (
            self.value + self.weight * (sample - self.value))


class Feeder:
    """Claims runs for ``pool`` through ``write(service.running.claim, ...)``.

    ``admit(rows)`` is called with each claim's rows (the dispatcher looks
    up their tasks and holds them in ``table``); the feeder hands the held
    runs to the pool, as many as it has room for, in one ``submit``.
    ``putBack(row)`` is called for rows claimed after stopping began.
    """

    log = Logger()

    #: Claims of unknown outcome remembered for giving up, at most; past
    #: it the oldest is forgotten (its jobs wait for the next start-up).
    maxLost = 1000

    #: The default of ``maxAhead``. The jobs in motion are at most the
    #: workers times (1 + ahead), and they turn over once per claim-run-
    #: record cycle, so this bounds fast jobs' throughput, and how many
    #: jobs share a claim's and a record's transaction. Measured with
    #: bench/run, batched no-op jobs, 2 workers: 8 gave 2,450 jobs/s on
    #: SQLite and 820 on PostgreSQL; 32 gave 2,970 and 1,100; 128 gave
    #: little more. In CPU per job (issue 18, bench/cpu's batched burst),
    #: 128 cost 0.87x what 32 did (claims and records of ~75 jobs rather
    #: than ~24: a third of the transactions, worker messages and
    #: reactor turns); 256 no less than 128. But the multicall enqueue
    #: rate fell with 128 (likely: bigger claims and records on the reactor
    #: thread between the adds): 9 alternating runs of 10,000 adds in
    #: multicalls of 500, medians of the per-run ratios to 128: 64
    #: enqueued 1.33x as fast (faster in 7 runs of 9) for 1.04x the CPU
    #: per job, 32 1.14x as fast for 1.20x; callgrind (one run each)
    #: counted the daemon 1.10x (64) and 1.20x (32) the instructions.
    #: 64 is the balance. Slow tasks are not sent ahead at all
    #: (``aheadPerWorker``), and a job queued behind one that runs long
    #: is recalled (the pool's ``recallAfter``).
    MAX_AHEAD = 64

    def __init__(self, service, pool, table, write, admit, putBack, clock,
                 maxAhead=MAX_AHEAD, maxClaim=500):
        self.service = service
        self.pool = pool
        self.table = table
        self.write = write
        self.admit = admit
        self.putBack = putBack
        self.clock = clock
        self.maxAhead = maxAhead
        self.maxClaim = maxClaim
        self.claimLatency = Average()
        self.runTime = Average()
        self.running = False
        self._claim = None
        # A committed change may have made jobs claimable since the last
        # claim began (_changed), and whether the tick asked for cron and
        # delayed runs (_scheduled); the last claim was full, so it may
        # have left jobs behind (_more).
        self._changed = self._scheduled = self._more = False
        # A change is being made in a transaction on this thread
        # (_pending); the claim in flight joined the transaction of the
        # changes, so their committed wake-ups are seen already (_joined).
        self._pending = self._joined = False
        # The tokens of claims whose commit was lost, and the write giving
        # them up, when one is in flight.
        self._lost = []
        self._releasing = None

    # How far ahead

    def aheadPerWorker(self):
        """Runs to hold per worker beyond the one it runs."""
        if self.claimLatency.value is None or self.runTime.value is None:
            return 0
        fit = self.claimLatency.value / max(self.runTime.value, 1e-6)
        return max(0, min(self.maxAhead, int(fit)))

    def wanted(self):
        """How many more runs to claim now."""
        ahead = self.aheadPerWorker()
        self.pool.depth = 1 + ahead if self.pool.queuesAhead else 1
        held = 0 if self.pool.queuesAhead else ahead * self.pool.size
        return min(self.maxClaim,
                   self.pool.capacity() + held - len(self.table.waiting))

    # Feeding

    def wake(self, scheduled=False):
        """A committed change may have made jobs claimable (with
        ``scheduled``: the tick, for due cron and delayed runs too). The
        one wake-up of the feeder: a claim begun after it sees the change;
        one in flight is followed by another."""
        if self._joined and not scheduled:
            return
        self._changed = True
        self._scheduled |= scheduled
        self.feed()

    def changePending(self):
        """A change that may make jobs claimable is being made in a
        transaction of the writer's batch (see the module docstring)."""
        self._pending = True

    def joinClaim(self, join):
        """The writer's ``beforeCommit``: join a claim to the batch if a
        change was made in it and a claim may begin now."""
        pending, self._pending = self._pending, False
        if not (pending and self.running) or self._claim is not None:
            return
        wanted = self.wanted()
        if wanted > 0:
            self._joined = True
            self._beginClaim(join, wanted)

    def feed(self):
        """Hand out what is held; claim more when there is room and
        something may be claimable (a change since the last claim began,
        or a full last claim). A worker freeing up calls this: that alone
        makes nothing claimable."""
        if not self.running:
            return
        self.handOut()
        self._releaseLost()
        if self._claim is not None or not (self._changed or self._more):
            return
        wanted = self.wanted()
        if wanted > 0:
            self._beginClaim(self.write, wanted)

    def _beginClaim(self, write, wanted):
        """Claim ``wanted`` runs through ``write``."""
        scheduled = self._scheduled
        self._changed = self._scheduled = self._more = False
        began, token = self.clock.seconds(), secrets.token_hex(16)
        self._claim = write(self.service.running.claim, wanted, None, None,
                            scheduled, token)
        self._claim.addCallbacks(self._claimed, self._failed,
                                 (wanted, began), None, (token,))

    def _claimed(self, rows, wanted, began):
        self._claim = None
        self._joined = False
        self.claimLatency.add(self.clock.seconds() - began)
        if not self.running:
            for row in rows:
                self.putBack(row)
            return
        self.admit(rows)
        self._more = len(rows) == wanted
        self.feed()

    def _failed(self, failure, token):
        self._claim = None
        self._joined = False
        # The next wake-up or freed worker tries again.
        self._changed = True
        if failure.check(StoreOutcomeUnknown):
            if len(self._lost) >= self.maxLost:
                self.log.warn('{count} claims of unknown outcome are '
                              'waiting to be given up; the oldest is left '
                              'to the next start-up', count=len(self._lost))
                del self._lost[0]
            self._lost.append(token)
            self._releaseLost()
        # An unavailable store is logged once, by the store (its outage),
        # not at each wake-up.
        elif not failure.check(StoreUnavailable):
            self.log.warn('Claiming jobs failed; the next wake-up tries '
                          'again: {error}', error=failure.getErrorMessage())

    def _releaseLost(self):
        """Give up the claims of unknown outcome (one write at a time)."""
        if not self._lost or self._releasing is not None:
            return
        tokens = list(self._lost)
        self._releasing = self.write(self.service.running.releaseClaims,
                                     tokens)
        self._releasing.addCallbacks(self._released, self._releaseFailed,
                                     (tokens,))

    def _released(self, count, tokens):
        self._releasing = None
        self._lost = [token for token in self._lost if token not in tokens]
        if count:
            self.log.info('Put back {count} job(s) claimed by a claim whose '
                          'commit was lost', count=count)

    def _releaseFailed(self, failure):
        # Tried again at the next wake-up; an unavailable store has
        # logged its outage.
        self._releasing = None
        if not failure.check(StoreUnavailable):
            self.log.warn('Giving up a lost claim failed; the next wake-up '
                          'tries again: {error}',
                          error=failure.getErrorMessage())

    def handOut(self):
        """Hand the held runs to the pool, as many as it has room for, in
        one ``submit`` (one message per worker). The pool's room is
        asked only when runs are held: a worker freeing up with nothing
        held (one add at a time) asks nothing."""
        if self.table.waiting:
            room = self.pool.capacity()
            if room > 0:
                self.pool.submit(self.table.takeWaiting(room))

    # Starting and stopping

    def startFeeding(self):
        self.running = True

    def stopFeeding(self):
        """Claim no more; return the held runs (no longer held, to be put
        back) once no claim is in flight (its rows are put back as they
        come)."""
        self.running = False
        held = self.table.takeWaiting(len(self.table.waiting))
        if self._claim is None:
            return defer.succeed(held)
        done = defer.Deferred()
        self._claim.addBoth(lambda _: done.callback(held))
        return done
