"""Bounds on connections: how many, and how long a request may take to
arrive.

``ConnectionLimits`` wraps the HTTP site's factory (Twisted's
``WrappingFactory``). It caps the connections open at once, per client
address and in all, so that no client, however many sockets it opens, can
use up the process's open files and cut everyone else off. A connection
over a cap gets a short ``503 Service Unavailable`` saying which cap, and
is closed.

Each connection it lets in is a ``GuardedConnection`` (a
``ProtocolWrapper`` with Twisted's ``TimeoutMixin``), which gives each
request a deadline for its headers (counted from the opening of the
connection, or from the end of the previous answer) and one for its body
(counted from the end of the headers). Twisted's own timeout is an idle
timeout, reset by every byte, so a client sending one byte every few
seconds would keep a socket forever; these are deadlines. A request past
one gets ``408 Request Timeout`` and its connection is closed. The
request (``LimitedRequest``) tells its connection when its headers and its
body have arrived and when it has been answered.

A connection is not read while its send buffer is full (back-pressure):
a client that sends requests and reads none of the answers would
otherwise have the server make and keep answer after answer for it.
Twisted's ``HTTPChannel`` stops reading only in some of these cases
(while it answers a request, pipelined requests go on being read), so
the connection sits between it and the transport as the transport's
producer: the transport says when its buffer fills (``pauseProducing``)
and drains (``resumeProducing``); the connection passes that on to the
channel and stops or resumes reading, whatever the channel asks.
"""

from twisted.internet.interfaces import IPushProducer
from twisted.internet.protocol import Protocol
from twisted.logger import Logger
from twisted.protocols.policies import (
    ProtocolWrapper, TimeoutMixin, WrappingFactory)
from zope.interface import implementer

#: Seconds a closed connection whose client reads nothing is kept before
#: it is cut (as twisted.web's HTTPChannel does after its idle timeout).
ABORT_AFTER = 5.0
#: Refused connections whose answer may still be on its way at once;
#: beyond that, refused connections are closed at once, unanswered.
MAX_LINGERING = 64
#: Seconds between two log lines about refused connections.
LOG_EVERY = 10.0

HEADERS, BODY, WORKING = 'headers', 'body', 'working'
#: The longest header line Twisted reads (``LineReceiver.MAX_LENGTH``);
#: past it Twisted hangs up without a word, so it is answered 431 here.
MAX_LINE = 16384


def _plainAnswer(status, reason, text, extra=b''):
    body = text.encode('utf-8', 'backslashreplace') + b'\n'
    return (b'HTTP/1.1 %d %s\r\nContent-Type: text/plain; charset=utf-8\r\n'
            b'Content-Length: %d\r\nConnection: close\r\n%s\r\n%s'
            % (status, reason, len(body), extra, body))


class GuardedConnection(ProtocolWrapper, TimeoutMixin):
    """One HTTP connection, with a deadline for each request's headers and
    body. ``phase`` is ``headers`` (waiting for a request, or reading its
    headers), ``body`` or ``working`` (the request is complete and being
    answered: no deadline, the server is the one taking its time)."""

    phase = HEADERS
    #: Whether any byte of the request awaited in HEADERS has come.
    started = False
    address = None
    _abort = None
    #: What the wrapped protocol registered as its producer (the channel).
    _producer = None
    #: Whether the wrapped protocol asked to stop reading, and whether
    #: the send buffer is full: reading stops while either is true.
    _protocolPaused = _sendBlocked = _readingPaused = False

    def __init__(self, factory, wrappedProtocol):
        super().__init__(factory, wrappedProtocol)
        self.callLater = factory.clock.callLater

    def connectionMade(self):
        self.setTimeout(self.factory.headerTimeout)

    _host = None

    def getHost(self):
        # Twisted's Request asks for it at every request; a connection's
        # own address does not change, and asking the socket is a
        # system call (getsockname) each time.
        if self._host is None:
            self._host = self.transport.getHost()
        return self._host

    #: The length of the header line being read, and whether the
    #: request's headers have ended (no more lines to measure).
    _line = 0
    _headersEnded = _sawLine = False

    def dataReceived(self, data):
        if self.phase == HEADERS:
            self.started = True
            if self._lineTooLong(data):
                self.transport.write(_plainAnswer(
                    431, b'Request Header Fields Too Large',
                    f'A header line is longer than {MAX_LINE} bytes.'))
                self.transport.loseConnection()
                return
        super().dataReceived(data)

    def _lineTooLong(self, data):
        """Whether ``data`` makes a line of the request's headers longer
        than ``MAX_LINE`` (the body, after the blank line, is not looked
        at)."""
        start = 0
        while not self._headersEnded:
            end = data.find(b'\n', start)
            if end < 0:
                self._line += len(data) - start
                return self._line > MAX_LINE
            length = self._line + end - start
            if length > MAX_LINE:
                return True
            if length <= 1 and self._sawLine:
                self._headersEnded = True
            self._sawLine = self._sawLine or length > 1
            self._line, start = 0, end + 1
        return False

    # Told by the request (LimitedRequest)

    def headersReceived(self):
        """The headers of the request have all come: its body may take
        ``bodyTimeout`` seconds from now."""
        self.phase = BODY
        self.setTimeout(self.factory.bodyTimeout)

    def requestReceived(self):
        """The whole request has come; answering it has no deadline here.
        The body's timer is left to run (``timeoutConnection`` does
        nothing while working) and moved by ``answered``: cancelling it
        and making the next one cost a timer per request."""
        self.phase = WORKING

    def answered(self):
        """The request has been answered: the next one's headers are due
        within ``headerTimeout`` seconds (an idle connection is closed
        then)."""
        self.phase, self.started = HEADERS, False
        self._line, self._headersEnded, self._sawLine = 0, False, False
        self.setTimeout(self.factory.headerTimeout)

    # Back-pressure: the transport tells a _SendBuffer of this connection
    # when its buffer is full or has drained.

    def registerProducer(self, producer, streaming):
        self._producer = producer
        self.transport.registerProducer(_SendBuffer(self), True)

    def unregisterProducer(self):
        self._producer = None
        self.transport.unregisterProducer()

    def pauseProducing(self):
        """The wrapped protocol asks that nothing more be read."""
        self._protocolPaused = True
        self._updateReading()

    def resumeProducing(self):
        self._protocolPaused = False
        self._updateReading()

    def stopProducing(self):
        self.transport.stopProducing()

    @property
    def sendBlocked(self):
        """Whether the send buffer is full: the client has not taken what
        it was sent."""
        return self._sendBlocked

    def sendBufferFull(self, full):
        """The transport's buffer is full (or has drained): the client
        is not taking what it was sent (or has taken it)."""
        self._sendBlocked = full
        producer = self._producer
        if producer is not None:
            if full:
                producer.pauseProducing()
            else:
                producer.resumeProducing()
        self._updateReading()

    def _updateReading(self):
        paused = self._protocolPaused or self._sendBlocked
        if paused != self._readingPaused:
            self._readingPaused = paused
            if paused:
                self.transport.pauseProducing()
            else:
                self.transport.resumeProducing()

    # The deadline

    def timeoutConnection(self):
        if self.phase == WORKING:
            return  # the answer's time is the server's; see answered
        if self.phase == HEADERS and not self.started:
            # Idle between requests: nothing to answer. An answer its
            # client never took keeps the connection open; cut it then.
            self.transport.loseConnection()
            self._abort = self.callLater(ABORT_AFTER,
                                         self.transport.abortConnection)
            return
        limit = (self.factory.headerTimeout if self.phase == HEADERS
                 else self.factory.bodyTimeout)
        self.factory.log.info(
            'Closing a connection from {address}: its request\'s {phase} '
            'took over {limit:g} s', address=self.address, phase=self.phase,
            limit=limit)
        self.transport.write(_plainAnswer(
            408, b'Request Timeout',
            f'The request\'s {self.phase} did not arrive within {limit:g} s '
            f'(see --{"header" if self.phase == HEADERS else "body"}'
            '-timeout).'))
        self.transport.loseConnection()
        self._abort = self.callLater(ABORT_AFTER, self.transport
                                     .abortConnection)

    def connectionLost(self, reason):
        self.setTimeout(None)
        if self._abort is not None and self._abort.active():
            self._abort.cancel()
        super().connectionLost(reason)


@implementer(IPushProducer)
class _SendBuffer:
    """The producer a ``GuardedConnection`` registers with its transport:
    told when the send buffer fills and drains."""

    def __init__(self, connection):
        self.connection = connection

    def pauseProducing(self):
        self.connection.sendBufferFull(True)

    def resumeProducing(self):
        self.connection.sendBufferFull(False)

    def stopProducing(self):
        producer = self.connection._producer
        if producer is not None:
            producer.stopProducing()


class Refused(Protocol):
    """A connection over a cap: it gets ``answer`` (a 503) and is closed.
    Its writing side is closed at once and what the client sends is
    dropped until it closes too, so that it reads the answer rather than
    a reset; one that does not close is cut after ``ABORT_AFTER`` s. At
    most ``MAX_LINGERING`` wait so at once; past that (a flood that reads
    nothing), refused connections are closed unanswered."""

    def __init__(self, factory, answer):
        self.factory = factory
        self.answer = answer
        self._abort = None

    def connectionMade(self):
        self.transport.write(self.answer)
        halfClose = getattr(self.transport, 'loseWriteConnection', None)
        if halfClose is None:
            self.transport.loseConnection()
            return
        self.factory.lingering += 1
        halfClose()
        self._abort = self.factory.clock.callLater(
            ABORT_AFTER, self.transport.abortConnection)

    def dataReceived(self, data):
        pass

    def connectionLost(self, reason):
        if self._abort is not None:
            self.factory.lingering -= 1
            if self._abort.active():
                self._abort.cancel()
            self._abort = None


class ConnectionLimits(WrappingFactory):
    """Wraps the site: at most ``perAddress`` connections open at once
    from one client address and ``total`` in all; each request's headers
    within ``headerTimeout`` seconds and its body within ``bodyTimeout``
    (see the module's docstring)."""

    protocol = GuardedConnection
    log = Logger()

    def __init__(self, wrappedFactory, perAddress, total, headerTimeout,
                 bodyTimeout, clock=None):
        super().__init__(wrappedFactory)
        if clock is None:
            from twisted.internet import reactor as clock
        self.clock = clock
        self.perAddress = perAddress
        self.total = total
        self.headerTimeout = headerTimeout
        self.bodyTimeout = bodyTimeout
        self.byAddress = {}
        self.lingering = 0
        self.refused = 0
        self._loggedAt = None

    def buildProtocol(self, addr):
        address = getattr(addr, 'host', None)
        if len(self.protocols) >= self.total:
            return self._refuse(address, (
                f'This server has {self.total} connections open, as many '
                'as it takes (see --max-connections); try again shortly.'))
        if address is not None and \
                self.byAddress.get(address, 0) >= self.perAddress:
            return self._refuse(address, (
                f'{address} has {self.perAddress} connections open to '
                'this server, as many as one address may (see '
                '--max-connections-per-address); close some or try again '
                'shortly.'))
        protocol = super().buildProtocol(addr)
        protocol.address = address
        return protocol

    def registerProtocol(self, p):
        super().registerProtocol(p)
        if p.address is not None:
            self.byAddress[p.address] = self.byAddress.get(p.address, 0) + 1

    def unregisterProtocol(self, p):
        super().unregisterProtocol(p)
        if p.address is not None:
            left = self.byAddress[p.address] - 1
            if left:
                self.byAddress[p.address] = left
            else:
                del self.byAddress[p.address]

    def _refuse(self, address, text):
        self.refused += 1
        now = self.clock.seconds()
        if self._loggedAt is None or now - self._loggedAt >= LOG_EVERY:
            self._loggedAt = now
            self.log.warn(
                'Refusing connections ({refused} so far); the latest from '
                '{address}: {text}', refused=self.refused, address=address,
                text=text)
        if self.lingering >= MAX_LINGERING:
            # A flood that reads nothing: the port closes the socket at
            # once, freeing its file now rather than a turn later.
            return None
        return Refused(self, _plainAnswer(
            503, b'Service Unavailable', text, b'Retry-After: 1\r\n'))

