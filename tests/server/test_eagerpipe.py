"""Writing to a worker's stdin at once when nothing waits: on a real pipe,
through Twisted's own ``ProcessWriter``, with a ``MemoryReactor`` in
place of the reactor's file descriptor sets."""

import os

import pytest
from twisted.internet import main, process
from twisted.internet.testing import MemoryReactor
from twisted.python import failure

from remotetask.server.workers.eagerpipe import EagerPipe


class Process:
    """What a ProcessWriter tells its process, and a transport's write to
    stdin (``Process.write``)."""

    def __init__(self):
        self.lost = []
        self.pipes = {}

    def write(self, data):
        if 0 in self.pipes:
            self.pipes[0].write(data)

    def childConnectionLost(self, name, reason):
        self.lost.append(name)
        del self.pipes[name]


#: The write ends the test made (a real process's transport closes its own).
_made = []


@pytest.fixture(autouse=True)
def _closeWriteEnds():
    yield
    while _made:
        os.close(_made.pop())


def makePipe():
    """(EagerPipe, its ProcessWriter, the reactor, the read end)."""
    readEnd, writeEnd = os.pipe()
    _made.append(writeEnd)
    reactor, proc = MemoryReactor(), Process()
    writer = process.ProcessWriter(reactor, proc, 0, writeEnd)
    proc.pipes[0] = writer
    pipe = EagerPipe.of(proc)
    assert isinstance(pipe, EagerPipe)
    return pipe, writer, reactor, readEnd


def arrived(fd):
    """What the pipe holds now (b'' when empty), without blocking."""
    os.set_blocking(fd, False)
    try:
        return os.read(fd, 65536)
    except BlockingIOError:
        return b''


def flush(writer, reactor):
    """What the reactor does for a writer until it has nothing to write;
    doWrite's result (None, or how the connection was lost)."""
    for _ in range(1000):
        if writer not in reactor.getWriters():
            return None
        result = writer.doWrite()
        if result is not None:
            return result
    raise AssertionError('the writer never drained')


def test_an_idle_pipe_is_written_at_once():
    """With nothing buffered, a message is in the pipe when write
    returns: the reactor is not asked to watch for writability."""
    pipe, writer, reactor, readEnd = makePipe()
    pipe.write(b'one')
    pipe.write(b'two')
    assert writer not in reactor.getWriters()
    assert os.read(readEnd, 100) == b'onetwo'
    os.close(readEnd)


def test_what_a_full_pipe_leaves_is_buffered_and_order_kept():
    """A message larger than the pipe takes goes in part; the rest, and
    every message after it, wait in Twisted's buffer (the writer among
    the reactor's writers) and arrive whole and in order once the reader
    reads."""
    pipe, writer, reactor, readEnd = makePipe()
    big = bytes(range(256)) * 2048  # 512 KiB: more than a pipe holds
    pipe.write(big)
    assert writer in reactor.getWriters()
    pipe.write(b'after')
    got = b''
    for _ in range(1000):
        got += os.read(readEnd, 65536)
        if writer not in reactor.getWriters():
            break
        assert writer.doWrite() is None
    got += arrived(readEnd)
    assert got == big + b'after'
    pipe.write(b'idle again')
    assert os.read(readEnd, 100) == b'idle again'
    os.close(readEnd)


def test_a_closed_pipe_is_left_to_twisted():
    """A write to a pipe whose reader has gone is handed to Twisted, whose
    next attempt reports the connection lost as it always did."""
    pipe, writer, reactor, readEnd = makePipe()
    os.close(readEnd)
    pipe.write(b'nobody reads')
    assert writer in reactor.getWriters()
    assert flush(writer, reactor) is main.CONNECTION_LOST


def test_a_closing_pipe_or_a_producer_keeps_twisted_buffering():
    """While a pipe is being closed, or has a producer to pace, writes go
    through Twisted's buffer as before."""
    pipe, writer, reactor, readEnd = makePipe()
    writer.loseConnection()
    pipe.write(b'last words')
    assert arrived(readEnd) == b''
    assert flush(writer, reactor) is main.CONNECTION_DONE
    assert arrived(readEnd) == b'last words'
    os.close(readEnd)

    pipe, writer, reactor, readEnd = makePipe()

    class Producer:
        def resumeProducing(self):
            pass

        def stopProducing(self):
            pass

    writer.registerProducer(Producer(), False)
    pipe.write(b'paced')
    assert arrived(readEnd) == b''
    writer.doWrite()
    assert arrived(readEnd) == b'paced'
    writer.connectionLost(failure.Failure(main.CONNECTION_DONE))
    os.close(readEnd)


def test_a_transport_without_pipes_is_written_as_it_is():
    """A transport that is not a reactor's process (a test's fake) is
    given the writes itself."""
    transport = Process()
    assert EagerPipe.of(transport) is transport
