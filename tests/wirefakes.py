"""What the wire's unit tests share: the real site (or its connection
limits) over string transports, a resource that holds its requests, and
a login checker on a users file. No network, no reactor: time is a
``task.Clock``."""

from twisted.internet import defer, task
from twisted.internet.address import IPv4Address
from twisted.internet.error import ConnectionDone
from twisted.internet.testing import StringTransport
from twisted.logger import Logger
from twisted.python.failure import Failure
from twisted.web import resource, server

from remotetask.wire.connections import ConnectionLimits
from remotetask.wire.logins import LoginChecker
from remotetask.wire.passwords import UsersFile
from remotetask.wire.site import makeSite

REQUEST = b'GET / HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n'
HEADER_TIMEOUT, BODY_TIMEOUT = 5.0, 10.0
#: The login delay of ``makeChecker``'s checker, in seconds.
DELAY = 1.0


class Held(resource.Resource):
    """Keeps every request unanswered until the test answers it."""

    isLeaf = True

    def __init__(self):
        super().__init__()
        self.requests = []

    def render(self, request):
        self.requests.append(request)
        return server.NOT_DONE_YET


class HalfClosingTransport(StringTransport):
    """A transport that can close its writing side, as TCP can."""

    halfClosed = False
    aborted = False

    def loseWriteConnection(self):
        self.halfClosed = True

    def abortConnection(self):
        self.aborted = True
        super().abortConnection()


def makeLimits(perAddress=2, total=4):
    """The real site over ``Held``, behind connection limits of
    ``perAddress`` and ``total`` and the deadlines above, on a Clock:
    ``(limits, held, clock)``."""
    clock = task.Clock()
    held = Held()
    site = makeSite(held, 1024)
    limits = ConnectionLimits(site, perAddress, total, HEADER_TIMEOUT,
                              BODY_TIMEOUT, clock=clock)
    return limits, held, clock


def connect(factory, host='127.0.0.1', transportType=StringTransport):
    """A connection from ``host`` to ``factory`` (a site, or its
    limits): ``(protocol, transport)``."""
    peer = IPv4Address('TCP', host, 40000)
    protocol = factory.buildProtocol(peer)
    transport = transportType(
        hostAddress=IPv4Address('TCP', '127.0.0.1', 8770), peerAddress=peer)
    protocol.makeConnection(transport)
    return protocol, transport


def close(protocol):
    """The client went away."""
    protocol.connectionLost(Failure(ConnectionDone()))


def inThisThread(function, *args):
    return defer.maybeDeferred(function, *args)


def makeChecker(tmp_path, lines, delay=DELAY):
    """A login checker on a users file of ``lines``, hashing in this
    thread, on a Clock: ``(checker, clock, logged events)``."""
    path = tmp_path / 'users'
    path.write_text(''.join(line + '\n' for line in lines))
    clock = task.Clock()
    checker = LoginChecker(UsersFile(str(path)), delay, clock=clock,
                           inThread=inThisThread)
    events = []
    checker.throttle.log = Logger(observer=events.append)
    return checker, clock, events
