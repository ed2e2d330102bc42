"""Answers sent as their clients take them (``remotetask.wire.sending``),
and connections not read while their clients take nothing
(``remotetask.wire.connections``): the real site over a string transport
that fills as a socket's buffer does, time driven by ``task.Clock``."""

import xmlrpc.client

from twisted.internet import task

from remotetask.wire import answers
from remotetask.wire.connections import ABORT_AFTER, ConnectionLimits
from remotetask.wire.marshal import CHUNK
from remotetask.wire.sending import DIRECT, Outbox
from remotetask.wire.site import makeSite
from tests.wirefakes import (
    REQUEST, HalfClosingTransport, Held, close, connect)

SEND_TIMEOUT = 30.0
#: What the transport holds before it says it is full, as Twisted's does.
BUFFER = 65536


class SocketTransport(HalfClosingTransport):
    """A transport that tells its producer when more than ``BUFFER``
    bytes wait for the client (``pauseProducing``), and when the client
    has taken them all (``take()``, then ``resumeProducing``)."""

    taken = 0
    full = False

    def write(self, data):
        super().write(data)
        if not self.full and self.waiting() > BUFFER and self.producer:
            self.full = True
            self.producer.pauseProducing()

    def waiting(self):
        return len(self.value()) - self.taken

    def take(self):
        """The client reads all that was sent."""
        self.taken = len(self.value())
        if self.full:
            self.full = False
            self.producer.resumeProducing()


class Setup:
    """A connection to a site whose requests the test answers."""

    def __init__(self, memory=10 * 1024 * 1024):
        self.clock = task.Clock()
        self.held = Held()
        self.outbox = Outbox(memory, SEND_TIMEOUT, self.clock)
        site = makeSite(self.held, 1024, outbox=self.outbox)
        self.limits = ConnectionLimits(site, 10, 10, 60.0, 60.0,
                                       clock=self.clock)

    def connect(self):
        return connect(self.limits, transportType=SocketTransport)


def bodyOf(sent):
    return sent.partition(b'\r\n\r\n')[2]


def test_a_large_answer_is_sent_as_the_client_takes_it():
    """A 1 MB answer is written a chunk at a time: no more than the
    transport's buffer and one chunk are written ahead of the client,
    and the rest waits in the outbox, counted, until the client takes
    what was sent; the request is finished once all of it is sent."""
    setup = Setup()
    protocol, transport = setup.connect()
    protocol.dataReceived(REQUEST)
    body = bytes(range(256)) * 4096
    request = setup.held.requests[0]
    answers.send(body, request, answers.TEXT)
    rounds = 0
    while not request.finished:
        assert transport.waiting() <= BUFFER + CHUNK + 1024
        assert setup.outbox.held == len(body) - len(bodyOf(
            transport.value()))
        transport.take()
        rounds += 1
        assert rounds < 100
    assert rounds >= len(body) // (BUFFER + CHUNK)
    assert bodyOf(transport.value()) == body
    assert setup.outbox.held == 0 and not setup.outbox.senders


def test_a_client_that_takes_nothing_is_cut_after_the_send_timeout():
    """A client that takes nothing of its answer for ``sendTimeout``
    seconds has its connection aborted, and the answer's memory is freed
    at once; a moment before, it is still being waited for."""
    setup = Setup()
    protocol, transport = setup.connect()
    protocol.dataReceived(REQUEST)
    answers.send(b'x' * 500000, setup.held.requests[0], answers.TEXT)
    assert setup.outbox.held > 0
    setup.clock.advance(SEND_TIMEOUT - 0.01)
    assert not transport.aborted and setup.outbox.held > 0
    setup.clock.advance(0.01)
    assert transport.aborted
    assert setup.outbox.held == 0 and not setup.outbox.senders
    close(protocol)
    assert not setup.clock.getDelayedCalls() or all(
        call.getTime() <= setup.clock.seconds() + ABORT_AFTER
        for call in setup.clock.getDelayedCalls())


def test_taking_part_of_the_answer_starts_the_send_timeout_again():
    """The timeout counts from the last time the client took something:
    a client that reads slowly, but reads, is not cut."""
    setup = Setup()
    protocol, transport = setup.connect()
    protocol.dataReceived(REQUEST)
    request = setup.held.requests[0]
    answers.send(b'x' * 1000000, request, answers.TEXT)
    for _ in range(5):
        setup.clock.advance(SEND_TIMEOUT * 0.9)
        assert not transport.aborted
        transport.take()
    while not request.finished:
        transport.take()
    assert not transport.aborted and setup.outbox.held == 0


def test_a_client_that_reads_nothing_gets_no_further_answers_made():
    """Requests sent one after the other (pipelined) by a client that
    reads nothing: once its answers fill the buffer, the request is not
    finished and the next one not taken up, small answers included, and
    the connection is not read; when the client takes what was sent, the
    request finishes and the next one comes."""
    setup = Setup()
    protocol, transport = setup.connect()
    protocol.dataReceived(REQUEST * 3)
    requests = setup.held.requests
    answers.send(b'y' * (DIRECT // 2), requests[0], answers.TEXT)
    assert requests[0].finished and len(requests) == 2
    answers.send(b'z' * (DIRECT // 2), requests[1], answers.TEXT)
    assert transport.full and transport.producerState == 'paused'
    assert not requests[1].finished and len(requests) == 2
    protocol.dataReceived(REQUEST)  # what was already on its way
    assert len(requests) == 2
    transport.take()
    assert requests[1].finished and len(requests) == 3
    assert transport.producerState == 'producing'


def test_reading_stays_stopped_while_the_buffer_is_full():
    """While the send buffer is full the connection is not read, even if
    the HTTP channel asks to read again; once the answer has been taken,
    it is read again."""
    setup = Setup()
    protocol, transport = setup.connect()
    protocol.dataReceived(REQUEST)
    request = setup.held.requests[0]
    answers.send(b'x' * 300000, request, answers.TEXT)
    assert transport.producerState == 'paused'
    protocol.resumeProducing()
    assert transport.producerState == 'paused'
    while not request.finished:
        transport.take()
    assert transport.producerState == 'producing'


def test_a_large_answer_past_the_outbox_limit_is_fault_11():
    """With 400 KB of answers waiting for their clients and a limit of
    500 KB, another 300 KB answer is refused with fault 11 naming
    ``--max-answer-memory``; a small answer still goes; once the first
    client has taken its answer, the large one goes too."""
    setup = Setup(memory=500 * 1024)
    first, firstTransport = setup.connect()
    first.dataReceived(REQUEST)
    answers.send(b'x' * 400 * 1024, setup.held.requests[0], answers.TEXT)
    second, transport = setup.connect()
    second.dataReceived(REQUEST * 2)
    answers.send('y' * 300 * 1024, setup.held.requests[1], answers.XMLRPC)
    try:
        xmlrpc.client.loads(bodyOf(transport.value()))
        raise AssertionError('not a fault')
    except xmlrpc.client.Fault as fault:
        assert fault.faultCode == 11
        assert '--max-answer-memory' in fault.faultString
    assert setup.outbox.refused == 1
    third, transport = setup.connect()
    third.dataReceived(REQUEST)
    answers.send('small', setup.held.requests[3], answers.XMLRPC)
    assert xmlrpc.client.loads(bodyOf(transport.value()))[0] == ('small',)
    while not setup.held.requests[0].finished:
        firstTransport.take()
    answers.send('y' * 300 * 1024, setup.held.requests[2], answers.XMLRPC)
    assert setup.outbox.held > 0 and setup.outbox.refused == 1
