"""The feeder: claims in batches ahead of need, one claim at a time, and
hands the held runs of the in-flight table to the pool."""

import pytest
from twisted.internet import task

from remotetask import SimpleTask, TaskService
from remotetask.errors import StoreOutcomeUnknown, StoreUnavailable
from remotetask.server.pipeline.feeder import Average, Feeder
from remotetask.server.pipeline.inflight import InFlight, Run
from remotetask.server.pipeline.writer import StoreWriter
from remotetask.store import SQLiteJobStore
from tests import tasks
from tests.server.fakes import FakePool, HeldWrites, makeService


class Started:
    """The ids of the runs the pool was given, in order."""

    def __init__(self, pool):
        self.pool = pool

    def __iter__(self):
        return iter([run.id for run in self.pool.given])

    def __len__(self):
        return len(self.pool.given)

    def __eq__(self, other):
        return list(self) == list(other)


def makeFeeder(pool=None, maxAhead=8):
    service, write, clock = makeService(), HeldWrites(), task.Clock()
    pool = pool or FakePool(size=2)
    table, putBack = InFlight(), []

    def admit(rows):
        for row in rows:
            table.hold(Run(row))
    feeder = Feeder(service, pool, table, write, admit, putBack.append,
                    clock, maxAhead=maxAhead)
    feeder.startFeeding()
    return feeder, service, write, clock, Started(pool), putBack


def held(feeder):
    return list(feeder.table.waiting)


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
    assert function == service.running.releaseClaims
    write.failNext(StoreUnavailable('still away'))
    assert {service.getStatus(jobid) for jobid in ids} == {'processing'}
    feeder.wake()
    release, claim = write.calls
    assert release[1] == service.running.releaseClaims
    assert len(release[2][0]) == 1
    write.runNext()
    assert {service.getStatus(jobid) for jobid in ids} == {'queued'}
    write.runNext()
    assert started == ids
    feeder.wake()
    assert all(call[1] != service.running.releaseClaims
               for call in write.calls)


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
    assert function == service.running.releaseClaims
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


def test_runs_go_out_in_one_submit_the_given_back_first():
    """Held runs go to the pool, as many as it has room for, in one
    submit; a run given back unstarted goes out before the others."""
    feeder, service, write, clock, started, _ = makeFeeder(
        pool=FakePool(size=0))
    a, b, c = (service.add('echo', i) for i in range(3))
    feeder.pool.size = 3
    feeder.wake()
    feeder.pool.size = 0
    write.runNext()
    assert held(feeder) == [a, b, c]
    feeder.table.hold(feeder.table.takeWaiting(3)[-1], first=True)
    assert held(feeder) == [c]
    feeder.table.hold(feeder.table.runs[a], first=True)
    assert held(feeder) == [a, c]
    feeder.pool.size = 2
    feeder.feed()
    assert started == [a, c]
    assert feeder.pool.submits == 1


def test_a_freed_worker_claims_only_after_a_change_or_a_full_claim():
    """When the last claim got fewer runs than it asked for, a worker
    freeing up starts no claim (it would find nothing); a change told
    since (wake), a full last claim, or the tick, does."""
    feeder, service, write, clock, started, _ = makeFeeder(
        pool=FakePool(size=2))
    jobid = service.add('echo', 1)
    feeder.wake()
    write.runNext()
    assert started == [jobid]
    feeder.pool.given.clear()
    feeder.feed()
    assert write.calls == []
    later = service.add('echo', 2)
    feeder.wake()
    write.runNext()
    assert started == [later]
    feeder.pool.given.clear()
    feeder.feed()
    assert write.calls == []
    feeder.wake(scheduled=True)
    assert len(write.calls) == 1
    write.runNext()
    # A full claim (two of two) may have left more behind.
    more = [service.add('echo', i) for i in range(3)]
    feeder.wake()
    write.runNext()
    assert started == more[:2]
    feeder.pool.given.clear()
    feeder.feed()
    assert len(write.calls) == 1
    write.runNext()
    assert started == more[2:]


def test_a_wake_without_room_is_kept_for_when_room_appears():
    """A change told while the workers are full claims nothing then; the
    first worker to free up claims for it."""
    feeder, service, write, clock, started, _ = makeFeeder(
        pool=FakePool(size=0))
    jobid = service.add('echo', 1)
    feeder.wake()
    assert write.calls == []
    feeder.pool.size = 1
    feeder.feed()
    write.runNext()
    assert started == [jobid]


# A claim that joins the transaction of the add (a store written on the
# reactor thread: the writer's beforeCommit).

@pytest.fixture
def joining(tmp_path):
    """A feeder claiming through a real inline writer on SQLite, told of
    adds in their transaction and once committed, as the daemon wires it."""
    store = SQLiteJobStore(tmp_path / 'jobs.sqlite')
    service = TaskService(store=store)
    service.registry.register('echo', SimpleTask(tasks.echo))
    clock, pool, table = task.Clock(), FakePool(size=2), InFlight()
    writer = StoreWriter(store, relay=lambda f, *args: f(*args),
                         reactor=clock)
    feeder = Feeder(service, pool, table, writer.call,
                    lambda rows: [table.hold(Run(row)) for row in rows],
                    None, clock)
    service.listeners.onAdd(feeder.wake)
    service.listeners.onAddPending(feeder.changePending)
    writer.beforeCommit = feeder.joinClaim
    writer.startService()
    feeder.startFeeding()
    yield writer, feeder, service, clock, Started(pool)
    writer.stopService()
    store.close()


def test_a_claim_joins_the_transaction_of_the_add(joining):
    """An add written on the reactor thread takes the claim of its job
    into its own transaction: one batch, one turn, the job handed out
    when the add is answered, and no second claim for the add's
    committed wake-up."""
    writer, feeder, service, clock, started = joining
    add = writer.call(service.add, 'echo', 1)
    clock.advance(0)
    assert add.result == 1
    assert started == [1]
    assert (writer.batches, writer.calls) == (1, 2)
    clock.advance(0)
    assert writer.batches == 1, 'a claim for what the joined one saw'


def test_no_claim_joins_a_batch_without_a_change(joining):
    """A batch that made no job claimable (a read-only call, a cancel)
    is not followed by a claim: a claim there would find nothing."""
    writer, feeder, service, clock, started = joining
    writer.call(service.getStatus, 1)
    clock.advance(0)
    assert (writer.batches, writer.calls) == (1, 1)


def test_a_change_after_the_joined_claim_is_claimed_for(joining):
    """An add in a later turn, while the workers still have room, is
    claimed for in its own batch: only the wake-ups of the joined
    claim's own transaction are let pass."""
    writer, feeder, service, clock, started = joining
    writer.call(service.add, 'echo', 1)
    clock.advance(0)
    writer.call(service.add, 'echo', 2)
    clock.advance(0)
    assert started == [1, 2]
    assert (writer.batches, writer.calls) == (2, 4)


def test_an_add_while_a_claim_is_in_flight_is_claimed_after_it():
    """Where the claim cannot join the add's transaction (one is in
    flight already, which ran before the add), the add's committed
    wake-up is kept, and answered once that claim returns."""
    feeder, service, write, clock, started, _ = makeFeeder()
    feeder.wake()
    d, function, args, kwargs = write.calls.pop(0)
    early = function(*args, **kwargs)
    assert early == []
    feeder.changePending()
    jobid = service.add('echo', 1)
    feeder.joinClaim(write)
    assert write.calls == []
    feeder.wake()
    d.callback(early)
    write.runNext()
    assert started == [jobid]
