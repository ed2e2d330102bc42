"""Sending answers: a small one at once, a large one as its client takes it.

Handing a connection a whole 10 MB answer puts all of it in the server's
send buffer, where it stays for as long as the client does not read: 100
such clients once held 1.5 GB. So an answer larger than ``DIRECT`` bytes
is sent by an ``AnswerSender``, a push producer (Twisted's
``IPushProducer``) registered on its request: it writes one chunk at a
time, stops when the connection's buffer is full (``pauseProducing``) and
goes on when it has drained (``resumeProducing``), so that the buffer
never holds more than a chunk or two, and each chunk it has written is
freed. A request is finished only once its connection's buffer has room
again, small answers included: until then its connection is not read
(``remotetask.wire.connections``) and the requests it already sent wait,
so a client that sends requests and reads no answers gets no further
answers made for it.

The ``Outbox`` counts the bytes of the answers being sent, in all, and
holds them under a limit (``--max-answer-memory``): a large answer that
would pass it is not sent, and its client gets fault 11 (try again
shortly) instead. A client that takes nothing of its answer for
``sendTimeout`` seconds (``--send-timeout``) loses its connection, and
the memory its answer held is freed.
"""

import collections

from twisted.internet.interfaces import IPushProducer
from twisted.logger import Logger
from zope.interface import implementer

from remotetask.errors import ServerBusy
from remotetask.wire.marshal import CHUNK, Encoded

#: Answers up to this many bytes are handed to their connection at once.
DIRECT = 65536
#: The defaults of ``--max-answer-memory`` and ``--send-timeout``.
MAX_ANSWER_MEMORY = 256 * 1024 * 1024
SEND_TIMEOUT = 60.0

MB = 1024 * 1024


class Outbox:
    """The answers on their way to clients: ``held`` bytes of them, at
    most ``limit``; ``sendTimeout`` seconds a client may take nothing."""

    log = Logger()

    def __init__(self, limit=MAX_ANSWER_MEMORY, sendTimeout=SEND_TIMEOUT,
                 clock=None):
        if clock is None:
            from twisted.internet import reactor as clock
        self.limit = limit
        self.sendTimeout = sendTimeout
        self.clock = clock
        self.held = 0
        self.senders = set()
        #: Answers refused because they did not fit, since the start.
        self.refused = 0

    def admits(self, size):
        """Whether an answer of ``size`` bytes may be sent now."""
        return size <= DIRECT or self.held + size <= self.limit

    def refuse(self, size):
        """The error a client gets for an answer that does not fit."""
        self.refused += 1
        return ServerBusy(
            f'The answer ({size / MB:.1f} MB) does not fit beside the '
            f'{self.held / MB:.1f} MB of answers other clients have not '
            f'yet taken: this server holds at most {self.limit / MB:.1f} MB '
            'of them (see --max-answer-memory); try again shortly.')

    def send(self, request, body):
        """Write ``body`` (bytes or ``Encoded``) as the rest of
        ``request``'s answer and finish it: at once if it is small, else
        as the client takes it."""
        chunks = body.chunks if isinstance(body, Encoded) else [body]
        size = body.size if isinstance(body, Encoded) else len(body)
        if size <= DIRECT:
            request.write(b''.join(chunks))
            if not _sendBlocked(request):
                request.finish()
                return
            chunks, size = [], 0  # sent; finished once the client took it
        AnswerSender(self, request, chunks, size).start()


def _sendBlocked(request):
    """Whether ``request``'s connection has a full send buffer."""
    connection = getattr(request.channel, 'transport', None)
    return getattr(connection, 'sendBlocked', False)


def sendNow(request, body):
    """Write ``body`` and finish ``request``, for a request that no
    ``Outbox`` serves (a test's)."""
    request.write(bytes(body) if isinstance(body, Encoded) else body)
    request.finish()


@implementer(IPushProducer)
class AnswerSender:
    """Writes one answer's ``chunks`` to ``request`` as the connection
    takes them (see the module docstring)."""

    def __init__(self, outbox, request, chunks, size):
        self.outbox = outbox
        self.request = request
        self.chunks = collections.deque(chunks)
        self.offset = 0
        self.left = size
        self.paused = False
        self.ended = False
        self._stall = None

    def start(self):
        self.outbox.held += self.left
        self.outbox.senders.add(self)
        self.request.registerProducer(self, True)
        self.request.notifyFinish().addErrback(lambda _: self._end())
        self.paused = _sendBlocked(self.request)
        self._send()

    def _send(self):
        while self.chunks and not self.paused and not self.ended:
            # A write may pause us (the buffer is full) before it returns.
            self.request.write(self._next())
        if self.ended:
            return
        if self.paused:
            if self._stall is None:
                self._stall = self.outbox.clock.callLater(
                    self.outbox.sendTimeout, self._stalled)
            return
        self._end()
        self.request.unregisterProducer()
        self.request.finish()

    def _next(self):
        """The next piece of at most ``CHUNK`` bytes; freed from the
        count (and from memory, once its whole chunk is written)."""
        chunk = self.chunks[0]
        if self.offset == 0 and len(chunk) <= CHUNK:
            piece = self.chunks.popleft()
        else:
            piece = chunk[self.offset:self.offset + CHUNK]
            self.offset += len(piece)
            if self.offset >= len(chunk):
                self.chunks.popleft()
                self.offset = 0
        self.left -= len(piece)
        self.outbox.held -= len(piece)
        return piece

    def _stalled(self):
        self._stall = None
        peer = getattr(self.request.getClientAddress(), 'host', None)
        self.outbox.log.info(
            'Closing a connection from {address}: its client took nothing '
            'of its answer for {timeout:g} s ({left} bytes left; see '
            '--send-timeout)', address=peer, left=self.left,
            timeout=self.outbox.sendTimeout)
        self._end()
        transport = getattr(self.request.channel, 'transport', None)
        if transport is not None:
            transport.abortConnection()

    def _end(self):
        """Stop, freeing what is left of the answer."""
        if self.ended:
            return
        self.ended = True
        self.outbox.held -= self.left
        self.outbox.senders.discard(self)
        self.left = 0
        self.chunks.clear()
        if self._stall is not None and self._stall.active():
            self._stall.cancel()
        self._stall = None

    # IPushProducer: the connection's buffer is full, has drained, or the
    # connection is gone.

    def pauseProducing(self):
        self.paused = True

    def resumeProducing(self):
        self.paused = False
        if self._stall is not None:
            self._stall.cancel()
            self._stall = None
        self._send()

    def stopProducing(self):
        self._end()
