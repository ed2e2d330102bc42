"""The feeder: claims in batches ahead of need, one claim at a time."""

from twisted.internet import task

from remotetask.errors import StoreOutcomeUnknown, StoreUnavailable
from remotetask.server.feeder import Average, Feeder
from tests.server.fakes import FakePool, HeldWrites, makeService


def makeFeeder(pool=None, maxAhead=8, batchNumber=lambda: None):
    service, write, clock = makeService(), HeldWrites(), task.Clock()
    pool = pool or FakePool(size=2)
    started, putBack = [], []

    def start(row):
        started.append(row['id'])
        pool.submit(row, None)
    feeder = Feeder(service, pool, write, start, putBack.append, clock,
                    maxAhead=maxAhead, batchNumber=batchNumber)
    feeder.startFeeding()
    return feeder, service, write, clock, started, putBack


def test_a_claim_asks_for_what_the_workers_have_room_for():
    """With no timing known yet, a wake-up claims one job per free
    worker, in one call, and hands them out as they come."""
    feeder, service, write, clock, started, _ = makeFeeder()
    ids = [service.add('echo', i) for i in range(5)]
    feeder.wake()
    (d, function, args, _), = write.calls
    assert args[0] == 2
    write.runNext()
    assert started == ids[:2]


def test_one_claim_at_a_time_and_wakeups_meanwhile_are_answered():
    """Wake-ups while a claim is in flight start no second claim; when it
    returns, one more claim looks for what they announced."""
    feeder, service, write, clock, started, _ = makeFeeder(
        pool=FakePool(size=3))
    first = service.add('echo', 1)
    feeder.wake()
    second = service.add('echo', 2)
    feeder.wake()
    feeder.wake()
    assert len(write.calls) == 1
    write.runNext()
    assert len(write.calls) == 1, 'a second claim for the later add'
    write.runNext()
    assert started == [first, second]
    assert write.calls == []


def test_a_failed_claim_does_not_stop_feeding():
    """A claim the store refuses is logged; the next wake-up claims
    again (a feeder stuck on a failed claim would never feed again)."""
    feeder, service, write, clock, started, _ = makeFeeder()
    jobid = service.add('echo', 1)
    feeder.wake()
    write.failNext(StoreUnavailable('read-only'))
    feeder.wake()
    write.runNext()
    assert started == [jobid]


def test_a_claim_of_unknown_outcome_is_given_up_and_claimed_again():
    """A claim that committed but was lost on the way back (its outcome
    unknown) left its jobs processing with no one to run them: the
    feeder gives its token up, again at the next wake-up while the store
    is away, and claims the jobs afresh once they are back."""
    feeder, service, write, clock, started, _ = makeFeeder()
    ids = [service.add('echo', i) for i in range(2)]
    feeder.wake()
    write.runNextThenFail(StoreOutcomeUnknown('lost while committing'))
    assert {service.getStatus(jobid) for jobid in ids} == {'processing'}
    (_, function, args, _), = write.calls
    assert function == service.releaseClaims
    write.failNext(StoreUnavailable('still away'))
    assert {service.getStatus(jobid) for jobid in ids} == {'processing'}
    feeder.wake()
    release, claim = write.calls
    assert release[1] == service.releaseClaims and len(release[2][0]) == 1
    write.runNext()
    assert {service.getStatus(jobid) for jobid in ids} == {'queued'}
    write.runNext()
    assert started == ids
    feeder.wake()
    assert all(call[1] != service.releaseClaims for call in write.calls)


def test_claims_of_unknown_outcome_are_remembered_up_to_a_bound():
    """Past ``maxLost`` claims waiting to be given up, the oldest is
    forgotten (its jobs wait for the next start-up's recovery); up to it,
    each is given up."""
    feeder, service, write, clock, started, _ = makeFeeder(
        pool=FakePool(size=1))
    feeder.maxLost = 1
    first, second = service.add('echo', 1), service.add('echo', 2)
    feeder.wake()
    write.runNextThenFail(StoreOutcomeUnknown('lost while committing'))
    (_, _, (oldest,), _), = write.calls
    write.failNext(StoreUnavailable('still away'))
    feeder.wake()
    write.failNext(StoreUnavailable('still away'))   # the release
    write.runNextThenFail(StoreOutcomeUnknown('lost again'))
    (_, function, (tokens,), _), = write.calls
    assert function == service.releaseClaims
    assert len(tokens) == 1 and tokens != oldest
    write.runNext()
    assert service.getStatus(first) == 'processing'   # forgotten
    assert service.getStatus(second) == 'queued'


def test_rows_claimed_after_stopping_are_put_back():
    """A claim in flight when stopping begins has its rows put back, and
    the stop waits for it."""
    feeder, service, write, clock, started, putBack = makeFeeder()
    jobid = service.add('echo', 1)
    feeder.wake()
    stopped = feeder.stopFeeding()
    assert not stopped.called
    write.runNext()
    assert stopped.called and stopped.result == []
    assert [row['id'] for row in putBack] == [jobid]
    assert started == []
    feeder.wake()
    assert write.calls == []


def test_fast_tasks_are_claimed_ahead_slow_ones_not():
    """How far ahead the feeder claims follows claim latency over run
    time: many per worker for fast tasks (capped), none for slow ones."""
    feeder, *_ = makeFeeder(maxAhead=8)
    assert feeder.aheadPerWorker() == 0
    feeder.claimLatency.add(0.002)
    feeder.runTime.add(0.0005)
    assert feeder.aheadPerWorker() == 4
    feeder.runTime.add(-1.0)  # an average that fell to nothing
    assert feeder.aheadPerWorker() == 8
    slow = Average()
    slow.add(5.0)
    feeder.runTime = slow
    assert feeder.aheadPerWorker() == 0


def test_ahead_goes_into_the_workers_of_a_queueing_pool():
    """A pool that queues ahead gets depth 1 + ahead; one that cannot
    (threads) keeps depth 1 and the feeder holds the extra itself."""
    queueing = FakePool(size=2)
    feeder, *_ = makeFeeder(pool=queueing)
    feeder.claimLatency.add(0.003)
    feeder.runTime.add(0.001)
    assert feeder.wanted() == 2 * 4
    assert queueing.depth == 4
    threads = FakePool(size=2, queuesAhead=False)
    feeder, *_ = makeFeeder(pool=threads)
    feeder.claimLatency.add(0.003)
    feeder.runTime.add(0.001)
    assert feeder.wanted() == 2 + 2 * 3
    assert threads.depth == 1


def test_a_run_given_back_is_first_in_line_and_a_dropped_one_is_gone():
    """giveBack() puts a run the pool returned unstarted in front of the
    held ones; drop() forgets a held run (cancelled)."""
    feeder, service, write, clock, started, _ = makeFeeder(
        pool=FakePool(size=0))
    a, b = service.add('echo', 1), service.add('echo', 2)
    feeder.pool.size = 2
    feeder.wake()
    feeder.pool.size = 0
    write.runNext()
    assert [row['id'] for row in feeder.buffer] == [a, b]
    returned = feeder.buffer.pop()
    feeder.giveBack(returned)
    assert [row['id'] for row in feeder.buffer] == [b, a]
    assert feeder.drop(a)['id'] == a
    assert feeder.drop(a) is None
    assert [row['id'] for row in feeder.buffer] == [b]


def test_an_add_its_claim_has_seen_costs_no_further_claim():
    """An add committed in the batch the claim ran in (claims run last in
    their batch) or before needs no claim of its own; one committed in a
    later batch, or outside the writer, does."""
    batch = [7]
    feeder, service, write, clock, started, _ = makeFeeder(
        pool=FakePool(size=4), batchNumber=lambda: batch[0])
    first = service.add('echo', 1)
    feeder.wake()
    feeder.wake(batch=7)
    write.runNext()
    assert started == [first]
    assert write.calls == []
    feeder.wake(batch=6)
    assert write.calls == []
    feeder.wake(batch=8)
    assert len(write.calls) == 1
    write.runNext()
    feeder.wake(batch=None)
    assert len(write.calls) == 1


def test_a_freed_worker_claims_nothing_after_a_claim_left_none():
    """When the last claim got fewer runs than it asked for, a worker
    freeing up starts no claim (it would find nothing); an add, or the
    tick, still does."""
    feeder, service, write, clock, started, _ = makeFeeder(
        pool=FakePool(size=2))
    jobid = service.add('echo', 1)
    feeder.wake()
    write.runNext()
    assert started == [jobid]
    feeder.pool.given.clear()
    feeder.wake(room=True)
    assert write.calls == []
    later = service.add('echo', 2)
    feeder.wake()
    write.runNext()
    assert started == [jobid, later]
    feeder.pool.given.clear()
    feeder.wake(room=True)
    feeder.wake(room=True, scheduled=True)
    assert len(write.calls) == 1
