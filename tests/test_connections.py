"""Connection caps and request deadlines (``remotetask.wire.connections``),
driven by a ``task.Clock`` over string transports: the site is the real
one (``makeSite``), the network and time are not."""

from twisted.internet.address import IPv4Address

from remotetask.wire.connections import ABORT_AFTER, MAX_LINGERING, Refused
from tests.wirefakes import (
    BODY_TIMEOUT, HEADER_TIMEOUT, REQUEST, HalfClosingTransport, close,
    connect, makeLimits)


def test_headers_have_a_deadline_that_bytes_do_not_extend():
    """A client sending a header line every second (which resets Twisted's
    idle timeout each time) still gets 408 and is closed when the header
    deadline passes; a moment before, it is still being read."""
    limits, held, clock = makeLimits()
    protocol, transport = connect(limits)
    protocol.dataReceived(b'GET / HTTP/1.1\r\n')
    for second in range(int(HEADER_TIMEOUT) - 1):
        clock.advance(1)
        protocol.dataReceived(b'X-Slow: %d\r\n' % second)
    clock.advance(0.99)
    assert not transport.disconnecting and transport.value() == b''
    clock.advance(0.01)
    assert transport.value().startswith(b'HTTP/1.1 408 Request Timeout')
    assert b'headers' in transport.value()
    assert transport.disconnecting
    assert held.requests == []


def test_a_connection_that_sends_nothing_is_closed_quietly():
    """A connection idle for the header deadline is closed without an
    answer: there is no request to answer."""
    limits, held, clock = makeLimits()
    protocol, transport = connect(limits)
    clock.advance(HEADER_TIMEOUT)
    assert transport.disconnecting and transport.value() == b''


def test_an_idle_connection_whose_client_reads_nothing_is_cut():
    """A connection idle for the header deadline after an answer its
    client has not taken (closing then would wait for it for ever) is
    closed, and cut ``ABORT_AFTER`` seconds later; one that closes in
    time is not cut."""
    limits, held, clock = makeLimits()
    protocol, transport = connect(limits, transportType=HalfClosingTransport)
    protocol.dataReceived(REQUEST)
    held.requests[0].write(b'answered')
    held.requests[0].finish()
    clock.advance(HEADER_TIMEOUT)
    assert transport.disconnecting and not transport.aborted
    clock.advance(ABORT_AFTER)
    assert transport.aborted
    protocol, transport = connect(limits, transportType=HalfClosingTransport)
    clock.advance(HEADER_TIMEOUT)
    close(protocol)
    clock.advance(ABORT_AFTER)
    assert not transport.aborted


def test_a_request_within_both_deadlines_is_served():
    """Headers just inside their deadline, then a body just inside its
    own, make a request that reaches the resource, unharmed."""
    limits, held, clock = makeLimits()
    protocol, transport = connect(limits)
    protocol.dataReceived(b'POST / HTTP/1.1\r\nHost: 127.0.0.1\r\n')
    clock.advance(HEADER_TIMEOUT - 0.1)
    protocol.dataReceived(b'Content-Length: 4\r\n\r\nab')
    clock.advance(BODY_TIMEOUT - 0.1)
    protocol.dataReceived(b'cd')
    assert len(held.requests) == 1
    assert held.requests[0].content.getvalue() == b'abcd'
    assert not transport.disconnecting


def test_a_body_has_a_deadline_from_the_end_of_the_headers():
    """A body still incomplete ``bodyTimeout`` seconds after its headers
    gets 408 naming the body, and its connection is closed."""
    limits, held, clock = makeLimits()
    protocol, transport = connect(limits)
    protocol.dataReceived(b'POST / HTTP/1.1\r\nHost: 127.0.0.1\r\n'
                          b'Content-Length: 10\r\n\r\nabc')
    clock.advance(BODY_TIMEOUT - 0.01)
    protocol.dataReceived(b'd')
    assert not transport.disconnecting
    clock.advance(0.01)
    assert transport.value().startswith(b'HTTP/1.1 408')
    assert b'body' in transport.value()
    assert transport.disconnecting and held.requests == []


def test_no_deadline_while_answering_then_the_next_request_has_one():
    """While the server works on a complete request, no deadline runs
    (however long it takes); once it is answered, the next request's
    headers are due within the header deadline again."""
    limits, held, clock = makeLimits()
    protocol, transport = connect(limits)
    protocol.dataReceived(REQUEST)
    clock.advance(1000)
    assert not transport.disconnecting
    request, = held.requests
    request.write(b'done')
    request.finish()
    assert b'done' in transport.value()
    clock.advance(HEADER_TIMEOUT - 0.1)
    protocol.dataReceived(REQUEST)
    assert len(held.requests) == 2
    clock.advance(1000)
    assert not transport.disconnecting


def test_after_an_answer_the_idle_deadline_counts_from_the_answer():
    """Whether the answer came before the body's deadline would have
    passed or long after it, an idle connection is closed
    ``headerTimeout`` seconds after the answer, not sooner."""
    for working in (0.1, BODY_TIMEOUT + HEADER_TIMEOUT + 5):
        limits, held, clock = makeLimits()
        protocol, transport = connect(limits)
        protocol.dataReceived(REQUEST)
        clock.advance(working)
        request, = held.requests
        request.write(b'done')
        request.finish()
        clock.advance(HEADER_TIMEOUT - 0.01)
        assert not transport.disconnecting
        clock.advance(0.01)
        assert transport.disconnecting


def test_a_client_that_does_not_read_its_408_is_cut_off():
    """After a 408, a connection the client does not close is aborted
    ``ABORT_AFTER`` seconds later, so it holds no file for long."""
    limits, held, clock = makeLimits()
    protocol, transport = connect(limits, transportType=HalfClosingTransport)
    protocol.dataReceived(b'GET / HT')
    clock.advance(HEADER_TIMEOUT)
    assert transport.disconnecting and not transport.aborted
    clock.advance(ABORT_AFTER)
    assert transport.aborted


def test_connections_per_address_are_capped():
    """Up to ``perAddress`` connections from one address are served; the
    next gets 503 naming the option, while another address is served;
    when one closes, its address may connect again."""
    limits, held, clock = makeLimits(perAddress=2, total=10)
    first = [connect(limits, '127.0.0.1') for _ in range(2)]
    refused, transport = connect(limits, '127.0.0.1')
    assert isinstance(refused, Refused)
    answer = transport.value()
    assert answer.startswith(b'HTTP/1.1 503 Service Unavailable')
    assert b'--max-connections-per-address' in answer
    assert transport.disconnecting
    other, otherTransport = connect(limits, '127.0.0.2')
    other.dataReceived(REQUEST)
    assert len(held.requests) == 1
    close(first[0][0])
    again, _ = connect(limits, '127.0.0.1')
    assert not isinstance(again, Refused)
    assert limits.byAddress == {'127.0.0.1': 2, '127.0.0.2': 1}


def test_connections_in_all_are_capped():
    """Past ``total`` open connections, whatever the address, a new one
    gets 503 naming --max-connections; closing one makes room."""
    limits, held, clock = makeLimits(perAddress=10, total=3)
    opened = [connect(limits, f'127.0.0.{n}') for n in range(1, 4)]
    refused, transport = connect(limits, '127.0.0.9')
    assert isinstance(refused, Refused)
    assert b'(see --max-connections)' in transport.value()
    close(opened[0][0])
    assert not isinstance(connect(limits, '127.0.0.9')[0], Refused)
    assert len(limits.protocols) == 3


def test_a_refused_client_can_read_its_answer_then_is_cut_off():
    """A refused connection is half-closed (the client reads the 503, not
    a reset) and aborted if it is still there after ``ABORT_AFTER`` s;
    past ``MAX_LINGERING`` such connections, new ones are closed at once
    by the port (``buildProtocol`` gives None), freeing their files."""
    limits, held, clock = makeLimits(perAddress=1, total=10)
    connect(limits, '127.0.0.1')
    lingering = [connect(limits, '127.0.0.1',
                         transportType=HalfClosingTransport)
                 for _ in range(MAX_LINGERING)]
    assert all(t.halfClosed and not t.disconnecting for _, t in lingering)
    assert limits.buildProtocol(IPv4Address('TCP', '127.0.0.1', 1)) is None
    first, firstTransport = lingering[0]
    first.dataReceived(REQUEST)
    close(first)
    assert limits.lingering == MAX_LINGERING - 1
    clock.advance(ABORT_AFTER)
    assert all(t.aborted for _, t in lingering[1:])
    assert not firstTransport.aborted


class CountingTransport(HalfClosingTransport):
    """Counts how often its local address is asked for (a getsockname
    each, on a real socket)."""

    asked = 0

    def getHost(self):
        self.asked += 1
        return super().getHost()


def test_a_connection_asks_its_socket_for_its_address_once():
    """Every request of a connection gets the connection's own address
    (which the Host check compares with), asked of the transport once
    for the connection, not once per request."""
    limits, held, clock = makeLimits()
    protocol, transport = connect(limits, transportType=CountingTransport)
    for number in range(3):
        protocol.dataReceived(REQUEST)
        request = held.requests[number]
        assert request.getHost() == IPv4Address('TCP', '127.0.0.1', 8770)
        request.write(b'answered')
        request.finish()
    assert len(held.requests) == 3
    assert transport.asked == 1
