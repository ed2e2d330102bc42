"""The connections of completion calls, bounded in what they receive.

A completion call reads at most ``notifier.MAX_ANSWER`` bytes of body,
but Twisted's HTTP client keeps every header line it is sent: a
receiver under an allowed prefix that streamed headers for the call's
ten seconds grew the server by 3 GB. So each connection counts what it
receives, headers and body together, and is cut once that passes
``MAX_RECEIVED``; the call then fails, and is tried again later, as any
call that fails.
"""

from twisted.internet import protocol
from twisted.internet.endpoints import HostnameEndpoint, wrapClientTLS
from twisted.web.client import BrowserLikePolicyForHTTPS
from twisted.web.iweb import IAgentEndpointFactory
from zope.interface import implementer

#: The most a completion call's connection receives, headers and body
#: (whose own bound, 64 KB, is checked as it is read) together.
MAX_RECEIVED = 256 * 1024


@implementer(IAgentEndpointFactory)
class CallEndpoints:
    """For ``Agent.usingEndpointFactory``: the endpoint of an http or
    https URL, as Agent's own, its connections bounded (``Counting``)."""

    def __init__(self, reactor, timeout, limit=MAX_RECEIVED):
        self.reactor = reactor
        self.timeout = timeout
        self.limit = limit
        self.policy = BrowserLikePolicyForHTTPS()

    def endpointForURI(self, uri):
        endpoint = HostnameEndpoint(self.reactor, uri.host, uri.port,
                                    timeout=self.timeout)
        if uri.scheme == b'https':
            endpoint = wrapClientTLS(
                self.policy.creatorForNetloc(uri.host, uri.port), endpoint)
        return BoundedEndpoint(endpoint, self.limit)


class BoundedEndpoint:
    """An endpoint whose connections are cut past ``limit`` bytes
    received."""

    def __init__(self, endpoint, limit):
        self.endpoint = endpoint
        self.limit = limit

    def connect(self, factory):
        return self.endpoint.connect(Counting(factory, self.limit))


class Counting(protocol.Factory):
    """Builds ``factory``'s protocol (the one the Agent talks to), with
    its ``dataReceived`` counting and cutting at ``limit``."""

    def __init__(self, factory, limit):
        self.factory = factory
        self.limit = limit

    def doStart(self):
        self.factory.doStart()

    def doStop(self):
        self.factory.doStop()

    def buildProtocol(self, address):
        built = self.factory.buildProtocol(address)
        received = built.dataReceived
        total = [0]

        def dataReceived(data):
            total[0] += len(data)
            if total[0] > self.limit:
                built.transport.abortConnection()
                return
            received(data)
        built.dataReceived = dataReceived
        return built
