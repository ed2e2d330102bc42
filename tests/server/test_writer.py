"""The store writer: group commit on a real SQLite store and a real
thread; what it hands the reactor is drained here by the test."""

import queue
import threading
import time

import pytest
from twisted.internet import task

from remotetask import SimpleTask, TaskService
from remotetask.core import longwrites
from remotetask.core.longwrites import mayTakeLong
from remotetask.errors import NoSuchTask, StoreUnavailable
from remotetask.interfaces import IQuickWrites
from remotetask.server.pipeline.writer import StoreWriter
from remotetask.store import SQLiteJobStore
from tests import tasks

PATIENCE = 10.0


class QueueRelay:
    """The relay, delivering in the test's thread when it pumps."""

    def __init__(self):
        self.calls = queue.Queue()

    def __call__(self, function, *args):
        self.calls.put((function, args))

    def pumpUntil(self, condition):
        while not condition():
            function, args = self.calls.get(timeout=PATIENCE)
            function(*args)


class AtOnce:
    """A reactor whose end of turn is now: the writer's wake-up, which a
    running reactor would make after the current turn, happens at once."""

    def callLater(self, delay, function, *args):
        function(*args)


@pytest.fixture
def writing(tmp_path):
    store = SQLiteJobStore(tmp_path / 'jobs.sqlite')
    service = TaskService(store=store)
    service.registry.register('echo', SimpleTask(tasks.echo))
    relay = QueueRelay()
    writer = StoreWriter(store, relay, maxPending=5, reactor=AtOnce(),
                         inline=False)
    writer.startService()
    yield writer, service, relay
    ended = writer.stopService()
    relay.pumpUntil(lambda: ended.called)
    store.close()


def results(relay, deferreds):
    relay.pumpUntil(lambda: all(d.called for d in deferreds))
    found = []
    for d in deferreds:
        d.addBoth(found.append)
    return found


def blocked(writer):
    """Hold the writer thread in a call until the returned event is
    set, so that the calls made meanwhile wait and form one batch."""
    entered, release = threading.Event(), threading.Event()

    def hold():
        entered.set()
        release.wait(PATIENCE)
    d = writer.call(hold)
    assert entered.wait(PATIENCE)
    return d, release


def test_calls_pending_together_commit_in_one_transaction(writing):
    """Calls made while the writer is busy are run together, in one
    transaction, and each gets its own answer."""
    writer, service, relay = writing
    held, release = blocked(writer)
    adds = [writer.call(service.add, 'echo', i) for i in range(4)]
    release.set()
    assert results(relay, adds) == [1, 2, 3, 4]
    relay.pumpUntil(lambda: held.called)
    # The held call's batch, then one for the four adds.
    assert (writer.batches, writer.calls) == (2, 5)
    assert [service.getResult(jobid) for jobid in range(1, 5)] == [
        None] * 4
    assert service.getStatus(4) == 'queued'


def test_a_refusal_fails_alone(writing):
    """A call the service refuses (no such task) fails with that error;
    the others in its batch commit."""
    writer, service, relay = writing
    held, release = blocked(writer)
    good = writer.call(service.add, 'echo', 1)
    bad = writer.call(service.add, 'nothing', 1)
    release.set()
    first, second = results(relay, [good, bad])
    assert first == 1
    assert second.check(NoSuchTask)
    assert service.store.ids() == [1]


def test_a_failing_call_is_rolled_back_and_the_others_retried_alone(
        writing):
    """A call that fails after writing (a bug) rolls its batch back; each
    call is then run alone, so the others commit and its write is gone."""
    writer, service, relay = writing
    held, release = blocked(writer)

    def broken():
        service.add('echo', 'half-done')
        raise ZeroDivisionError('a bug')
    good = writer.call(service.add, 'echo', 'kept')
    bad = writer.call(broken)
    other = writer.call(service.add, 'echo', 'also kept')
    release.set()
    first, second, third = results(relay, [good, bad, other])
    assert second.check(ZeroDivisionError)
    inputs = [service.getJob(jobid).input
              for jobid in service.store.ids()]
    assert inputs == ['kept', 'also kept']


def test_an_unavailable_store_fails_the_whole_batch_at_once(writing):
    """A store that is unavailable fails every call of the batch with
    fault 6's error, nothing written, without trying each call alone
    (each would wait for the store in turn)."""
    writer, service, relay = writing
    held, release = blocked(writer)
    tried = []

    def unavailable():
        tried.append('once')
        raise StoreUnavailable('The disk is full.')
    add = writer.call(service.add, 'echo', 'rolled back')
    down = writer.call(unavailable)
    release.set()
    first, second = results(relay, [add, down])
    assert first.check(StoreUnavailable) and second.check(StoreUnavailable)
    assert tried == ['once']
    assert service.store.ids() == []


def test_waiting_writes_are_bounded(writing):
    """Up to maxPending calls wait; one more is refused at once with
    StoreUnavailable, and taken again once the writer catches up."""
    writer, service, relay = writing
    held, release = blocked(writer)
    waiting = [writer.call(service.add, 'echo', i) for i in range(5)]
    refused = writer.call(service.add, 'echo', 'one too many')
    assert results(relay, [refused])[0].check(StoreUnavailable)
    release.set()
    assert len(results(relay, waiting)) == 5
    assert results(relay, [writer.call(service.add, 'echo', 6)]) == [6]


def test_a_stopping_writer_finishes_what_waits_and_takes_no_more(tmp_path):
    """Stopping runs the calls already waiting, then ends the thread;
    calls after that are refused."""
    store = SQLiteJobStore(tmp_path / 'jobs.sqlite')
    service = TaskService(store=store)
    service.registry.register('echo', SimpleTask(tasks.echo))
    relay = QueueRelay()
    writer = StoreWriter(store, relay, reactor=AtOnce(), inline=False)
    writer.startService()
    held, release = blocked(writer)
    add = writer.call(service.add, 'echo', 1)
    ended = writer.stopService()
    release.set()
    relay.pumpUntil(lambda: ended.called)
    assert add.result == 1
    late = writer.call(service.add, 'echo', 2)
    failures = []
    late.addErrback(failures.append)
    assert failures[0].check(StoreUnavailable)
    store.close()


# On the reactor thread: a store whose commits never wait on the disk.

@pytest.fixture
def inline(tmp_path):
    store = SQLiteJobStore(tmp_path / 'jobs.sqlite')
    service = TaskService(store=store)
    service.registry.register('echo', SimpleTask(tasks.echo))
    relay, clock = QueueRelay(), task.Clock()
    writer = StoreWriter(store, relay, maxPending=5, reactor=clock,
                         checkpointEvery=3)
    writer.startService()
    yield writer, service, relay, clock
    ended = writer.stopService()
    relay.pumpUntil(lambda: ended.called)
    store.close()


def test_a_quick_store_is_written_on_the_reactor_thread_once_a_turn(inline):
    """On SQLite with synchronous NORMAL, the calls of one reactor turn
    are committed together at its end, on the reactor's thread, with no
    hand-off to the writer thread and back."""
    writer, service, relay, clock = inline
    assert writer.inline
    where = []

    def add(i):
        where.append(threading.get_ident())
        return service.add('echo', i)
    adds = [writer.call(add, i) for i in range(3)]
    assert not any(d.called for d in adds)
    clock.advance(0)
    assert [d.result for d in adds] == [1, 2, 3]
    assert where == [threading.get_ident()] * 3
    assert (writer.batches, writer.calls) == (1, 3)
    assert relay.calls.empty()


def test_a_full_sync_store_is_written_in_the_thread(tmp_path):
    """With synchronous FULL (an fsync per commit) the store does not
    offer quick writes, and the writer keeps to its thread."""
    store = SQLiteJobStore(tmp_path / 'jobs.sqlite', synchronous='FULL')
    try:
        assert not IQuickWrites.providedBy(store)
        assert not StoreWriter(store, QueueRelay(), reactor=task.Clock()
                               ).inline
    finally:
        store.close()


def test_inline_a_refusal_fails_alone(inline):
    """On the reactor thread too, a refused call fails alone and the
    others of its turn commit."""
    writer, service, relay, clock = inline
    good = writer.call(service.add, 'echo', 1)
    bad = writer.call(service.add, 'nothing', 1)
    clock.advance(0)
    assert good.result == 1
    failures = []
    bad.addErrback(failures.append)
    assert failures[0].check(NoSuchTask)
    assert service.store.ids() == [1]


def test_a_long_write_goes_to_the_thread_and_the_next_follow_it(inline):
    """A write marked mayTakeLong (a clean of many jobs) is run in the
    writer thread, never on the reactor's; calls made while it runs
    follow it there, in order; once the thread is idle, writes are made
    on the reactor thread again."""
    writer, service, relay, clock = inline
    here = threading.get_ident()
    entered, release = threading.Event(), threading.Event()

    @mayTakeLong
    def long():
        entered.set()
        release.wait(PATIENCE)
        return threading.get_ident()
    held = writer.call(long)
    clock.advance(0)
    assert entered.wait(PATIENCE)
    where = []
    after = writer.call(lambda: where.append(threading.get_ident()))
    clock.advance(0)
    release.set()
    relay.pumpUntil(lambda: after.called)
    assert held.result != here
    assert where == [held.result]
    again = writer.call(lambda: threading.get_ident())
    for _ in range(int(PATIENCE * 100)):
        clock.advance(0)
        if again.called:
            break
        if not relay.calls.empty():
            relay.pumpUntil(lambda: relay.calls.empty())
        time.sleep(0.01)
    assert again.result == here


def test_a_busy_store_sends_the_turn_to_the_thread(inline):
    """When another thread holds the store's write lock (retention, a
    read pool's write), the reactor does not wait for it: its turn goes
    to the writer thread, which commits it once the lock is free."""
    writer, service, relay, clock = inline
    taken, release = threading.Event(), threading.Event()

    def holdLock():
        with service.store.transaction():
            taken.set()
            release.wait(PATIENCE)
    holder = threading.Thread(target=holdLock)
    holder.start()
    assert taken.wait(PATIENCE)
    add = writer.call(service.add, 'echo', 1)
    clock.advance(0)
    assert not add.called
    release.set()
    holder.join(PATIENCE)
    relay.pumpUntil(lambda: add.called)
    assert add.result == 1


def test_the_log_is_checkpointed_in_the_thread(inline):
    """The reactor's connection never checkpoints (that writes the file
    and fsyncs); after every checkpointEvery batches committed there,
    the writer thread does."""
    writer, service, relay, clock = inline
    store = service.store
    checkpoints, done = [], threading.Event()
    original = store.checkpoint

    def checkpoint():
        checkpoints.append(threading.get_ident())
        original()
        done.set()
    store.checkpoint = checkpoint
    for i in range(2):
        writer.call(service.add, 'echo', i)
        clock.advance(0)
    pragma = store.connections.connection().execute(
        'PRAGMA wal_autocheckpoint').fetchone()
    assert pragma == {'wal_autocheckpoint': 0}
    assert checkpoints == []
    writer.call(service.add, 'echo', 2)
    clock.advance(0)
    assert done.wait(PATIENCE)
    assert checkpoints[0] != threading.get_ident()


def test_inline_waiting_writes_are_bounded(inline):
    """Within a turn too, up to maxPending calls wait; one more is
    refused at once with StoreUnavailable."""
    writer, service, relay, clock = inline
    waiting = [writer.call(service.add, 'echo', i) for i in range(5)]
    refused = writer.call(service.add, 'echo', 'one too many')
    failures = []
    refused.addErrback(failures.append)
    assert failures[0].check(StoreUnavailable)
    clock.advance(0)
    assert [d.result for d in waiting] == [1, 2, 3, 4, 5]


def test_large_adds_go_to_the_thread(inline, monkeypatch):
    """An add whose arguments hold more than longwrites.VALUES values (a
    large multicall, a large input) or a text longer than longwrites.TEXT
    is committed in the writer thread; one at those bounds on the reactor
    thread."""
    writer, service, relay, clock = inline
    monkeypatch.setattr(longwrites, 'VALUES', 8)
    monkeypatch.setattr(longwrites, 'TEXT', 10)
    here = threading.get_ident()
    where = []
    service.onAdd(lambda: where.append(threading.get_ident()))
    calls = [(service.addEach, [('echo', 1), ('echo', 2)]),
             (service.addEach, [('echo', 1), ('echo', 2), ('echo', 3)]),
             (service.add, 'echo', 'x' * 10),
             (service.add, 'echo', 'x' * 11),
             (service.add, 'echo', [1, 2, 3, 4]),
             (service.add, 'echo', {'deep': [[1, 2], [3, 4], [5, 6]]})]
    for function, *args in calls:
        done = writer.call(function, *args)
        clock.advance(0)
        relay.pumpUntil(lambda: done.called)
        assert not isinstance(done.result, Exception)
    assert [thread == here for thread in where] == [
        True, False, True, False, True, False]


def test_a_long_text_anywhere_makes_an_add_large():
    """longwrites.large finds a text longer than TEXT however deep it is
    in a call's values (the last request of a multicall, inside a list
    inside a struct, a dict's key, a keyword argument), counts the values
    of every container, and tells a call of small values short."""
    text = 'x' * (longwrites.TEXT + 1)
    short = [('echo', {'i': i}, {}) for i in range(500)]
    assert not longwrites.large(short, owner=None)
    assert longwrites.large(short + [('echo', {'a': [{'b': text}]}, {})])
    assert longwrites.large('echo', {text: 1})
    assert longwrites.large('echo', None, owner=text.encode())
    assert longwrites.large('echo', [[0] * 10] * (longwrites.VALUES // 10))
    assert not longwrites.large('echo', text[1:])


def test_large_counts_each_value_once_up_to_VALUES(monkeypatch):
    """A call holding exactly longwrites.VALUES values is short and one
    more makes it large, counting each argument, each item of a list or
    tuple and each key and value of a dict, at any depth; a subclass of
    str, list or dict counts as one, and another object as one value."""
    monkeypatch.setattr(longwrites, 'VALUES', 10)
    monkeypatch.setattr(longwrites, 'TEXT', 3)
    large = longwrites.large

    class Text(str):
        pass

    class Items(list):
        pass

    assert not large(*range(10)) and large(*range(11))
    # 't', the list and its 3 items, the dict, 'a' and [4], 4: 9 values.
    assert not large('t', [1, 2, 3], {'a': [4]}, x=None)
    assert large('t', [1, 2, 3], {'a': [4]}, x=(None,))
    assert large('t', Items([1, 2, 3]), {'a': [4]}, x=(None,))
    assert not large(object(), Items([object()] * 8))
    assert large(Text('four')) and not large(Text('for'), {'key': b'abc'})


def test_a_batch_of_many_adds_is_long_by_its_length(monkeypatch):
    """A multicall's adds (``ClientWrites.addEach``) are a write that may
    take long when they are more than longwrites.ADDS, however small
    their values; up to ADDS, when ``large`` says so."""
    monkeypatch.setattr(longwrites, 'ADDS', 3)
    addEach = TaskService().clientWrites.addEach
    small = [('echo', {'i': i}, {}) for i in range(3)]
    assert not longwrites.takesLong(addEach, (None, small))
    assert longwrites.takesLong(addEach, (None, small + [('echo', 1, {})]))
    text = 'x' * (longwrites.TEXT + 1)
    assert longwrites.takesLong(addEach, (None, [('echo', text, {})]))
