"""Keeping every worker fed: claiming due jobs ahead of need, in batches.

A worker that finishes a job should start the next one at once, not wait
for a claim to cross to the store and back. So the feeder holds claimed
jobs ahead of the workers' need and hands them out as room appears. How
far ahead adapts: it is the number of runs that fit in the time a claim
takes (``claimLatency / runTime``), at most ``maxAhead`` per worker. Fast
tasks are claimed many at a time and sent ahead into the workers; when
tasks are slow, nothing is held ahead, so that a job claimed here never
waits behind a long one while an idle server (or worker) could run it.

One claim is in flight at a time: wake-ups meanwhile (an add, a job's end)
are remembered and answered with another claim when it returns, unless
they announce an add committed in the same writer batch as that claim, or
an earlier one (``batch``): the claim has seen it. So an add whose wire
woke the feeder in the same reactor turn is claimed in its own
transaction, and its committed event costs nothing more. Claimed
jobs that wait here are safe: they have not started, so a ``kill -9``
leaves them claimed without an attempt counted, recovery puts them back,
and on an orderly stop they go back to the queue before the workers stop.

A claim whose commit was lost (``StoreOutcomeUnknown``: the connection
dropped during COMMIT) may have taken jobs that never reached this side.
They would stay ``processing`` with no one to run them, so each claim has
a token of its own, and such a claim's token is given up
(``releaseClaims``) at once, or at the next wake-up (the tick's, once a
second) while the store is still away.
"""

import collections
import uuid

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
    """Claims runs for ``pool`` through ``write(service.claim, ...)``.

    ``start(row)`` is called for each row to hand to the pool (the
    dispatcher does the submitting, and its bookkeeping); ``putBack(row)``
    for rows claimed after stopping began.
    """

    log = Logger()

    #: Claims of unknown outcome remembered for giving up, at most; past
    #: it the oldest is forgotten (its jobs wait for the next start-up).
    maxLost = 1000

    #: The default of ``maxAhead``. The jobs in motion are at most the
    #: workers times (1 + ahead), and they turn over once per claim-run-
    #: record cycle, so this bounds fast jobs' throughput. Measured with
    #: bench/run, batched no-op jobs, 2 workers: 8 gave 2,450 jobs/s on
    #: SQLite and 820 on PostgreSQL; 32 gave 2,970 and 1,100; 128 gave
    #: little more and slowed the adds beside it.
    MAX_AHEAD = 32

    def __init__(self, service, pool, write, start, putBack, clock,
                 maxAhead=MAX_AHEAD, maxClaim=500, batchNumber=lambda: None):
        self.service = service
        self.pool = pool
        self.write = write
        self.start = start
        self.putBack = putBack
        self.clock = clock
        self.maxAhead = maxAhead
        self.maxClaim = maxClaim
        self.buffer = collections.deque()
        self.claimLatency = Average()
        self.runTime = Average()
        self.batchNumber = batchNumber
        self.running = False
        self._claim = None
        # Wake-ups during a claim: one that must be answered by another
        # claim (_againAny), the latest writer batch announced, which the
        # claim may already have seen (_againBatch), and whether any asked
        # for cron and delayed runs (_againScheduled).
        self._againAny = self._againScheduled = False
        self._againBatch = 0
        # The last claim got fewer runs than it asked for: nothing was
        # left to claim, and nothing has been added since.
        self._empty = False
        self._claimedIn = 0
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
                   self.pool.capacity() + held - len(self.buffer))

    # Feeding

    def wake(self, scheduled=False, batch=None, room=False):
        """Hand out what is held; claim more if there is room. With
        ``scheduled``, the claim also looks for due cron and delayed runs
        (the once-a-second tick asks for that). ``batch``: the wake-up
        announces what the writer's batch of that number committed.
        ``room``: only a worker freed up; nothing was added, so when the
        last claim left nothing behind there is nothing to claim (every
        change that makes a job claimable wakes the feeder itself, and
        jobs that become due with time are the tick's)."""
        if not self.running:
            return
        self.handOut()
        self._releaseLost()
        if room and not scheduled and (self._empty or self._claim):
            return
        if self._claim is not None:
            # Whether the claim in flight has seen this add is known only
            # when it returns (and says which batch it ran in).
            if batch is None:
                self._againAny = True
            else:
                self._againBatch = max(self._againBatch, batch)
            self._againScheduled |= scheduled
            return
        if batch is not None and batch <= self._claimedIn:
            return
        self._empty = False
        wanted = self.wanted()
        if wanted <= 0:
            return
        began, token = self.clock.seconds(), uuid.uuid4().hex
        self._claim = self.write(self._claimHere, wanted, scheduled, token)
        self._claim.addCallbacks(self._claimed, self._failed,
                                 (wanted, began), None, (token,))

    def _claimHere(self, wanted, scheduled, token):
        """In the writer: the claim, and the batch it ran in."""
        return self.batchNumber(), self.service.claim(
            wanted, None, None, scheduled, token=token)

    def _claimed(self, result, wanted, began):
        batch, rows = result
        self._claim = None
        if batch is not None:
            self._claimedIn = max(self._claimedIn, batch)
        self.claimLatency.add(self.clock.seconds() - began)
        if not self.running:
            for row in rows:
                self.putBack(row)
            return
        self.buffer.extend(rows)
        self._empty = len(rows) < wanted
        again = self._againAny or self._againBatch > self._claimedIn
        againScheduled = self._againScheduled
        self._againAny = self._againScheduled = False
        self._againBatch = 0
        # A full claim may have left more behind; a wake-up during the
        # claim may be for a job added after it looked.
        if len(rows) == wanted or again:
            self.wake(againScheduled)
        else:
            self.handOut()

    def _failed(self, failure, token):
        self._claim = None
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
        self._releasing = self.write(self.service.releaseClaims, tokens)
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
        while self.buffer and self.pool.capacity() > 0:
            self.start(self.buffer.popleft())

    def giveBack(self, row):
        """A claimed run the pool gave back unstarted: first in line."""
        self.buffer.appendleft(row)

    def drop(self, jobid):
        """Forget the held run of ``jobid`` (cancelled); its row or None."""
        for row in self.buffer:
            if row['id'] == jobid:
                self.buffer.remove(row)
                return row
        return None

    # Starting and stopping

    def startFeeding(self):
        self.running = True

    def stopFeeding(self):
        """Claim no more; return the held runs (to be put back) once no
        claim is in flight (its rows are put back as they come)."""
        self.running = False
        held = list(self.buffer)
        self.buffer.clear()
        if self._claim is None:
            return defer.succeed(held)
        done = defer.Deferred()
        self._claim.addBoth(lambda _: done.callback(held))
        return done
