"""A store's outage logged once (``remotetask.store.outage``) and calls
with no answer cut (``remotetask.store.pgwatch``), with a clock the test
moves and sockets of its own."""

import socket

from twisted.logger import Logger

from remotetask.store.outage import OutageLog
from remotetask.store.pgwatch import CallWatch


class Clock:
    def __init__(self):
        self.now = 100.0

    def __call__(self):
        return self.now


def watched(kind, clock):
    events = []
    if kind is OutageLog:
        instance = OutageLog('db', clock=clock)
    else:
        instance = CallWatch(5.0, 'db', interval=None, clock=clock)
    instance.log = Logger(observer=events.append)
    return instance, events


def test_an_outage_is_one_line_when_it_begins_and_one_when_it_ends():
    """However many calls fail, an outage logs one warning when it begins
    (with the first error) and one line when the first call succeeds
    again (how long it lasted, how many calls failed); calls succeeding
    meanwhile log nothing."""
    clock = Clock()
    outage, events = watched(OutageLog, clock)
    outage.succeeded()
    assert events == [] and not outage.down
    for n in range(50):
        clock.now += 1
        outage.failed(f'error {n}')
    assert outage.down and len(events) == 1
    assert events[0]['error'] == 'error 0'
    assert events[0]['log_level'].name == 'warn'
    clock.now += 10
    outage.succeeded()
    outage.succeeded()
    assert len(events) == 2 and not outage.down
    assert events[1]['seconds'] == 59 and events[1]['failures'] == 50
    outage.failed('again')
    assert len(events) == 3


def test_a_partial_outage_ends_once_calls_stop_failing():
    """Successes between failures (other tables answering while the jobs
    table is locked) do not end an outage: it ends at the first success
    ``settle`` seconds after the last failure, counting every failure."""
    clock = Clock()
    outage, events = watched(OutageLog, clock)
    for n in range(10):
        clock.now += 1
        outage.failed(f'error {n}')
        clock.now += 0.5
        outage.succeeded()
    assert outage.down and len(events) == 1
    clock.now += outage.settle - 1
    outage.succeeded()
    assert outage.down and len(events) == 1
    clock.now += 1
    outage.succeeded()
    assert not outage.down and len(events) == 2
    assert events[1]['failures'] == 10


class Connection:
    """What CallWatch sees of a psycopg connection: ``closed`` and
    ``pgconn.socket``."""

    closed = False

    def __init__(self, sock):
        self.pgconn = self
        self.socket = sock.fileno()


def test_a_call_with_no_answer_has_its_connection_shut_down():
    """A connection busy for longer than the deadline has its socket shut
    down, so that the thread waiting on it gets an end of file at once;
    one within the deadline, and one whose call ended, are left alone."""
    clock = Clock()
    watch, events = watched(CallWatch, clock)
    ours, theirs = socket.socketpair()
    quick, quickPeer = socket.socketpair()
    try:
        stuck, done = Connection(ours), Connection(quick)
        watch.begin(stuck)
        watch.begin(done)
        clock.now += 4.9
        watch.end(done)
        assert watch.check() == 0
        clock.now += 0.2
        assert watch.check() == 1 and len(events) == 1
        assert ours.recv(10) == b''  # shut down: end of file at once
        theirs.settimeout(5)
        assert theirs.recv(10) == b''
        quickPeer.sendall(b'ok')
        assert quick.recv(10) == b'ok'
        assert watch.check() == 0
    finally:
        watch.stop()
        for sock in (ours, theirs, quick, quickPeer):
            sock.close()
