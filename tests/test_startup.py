"""What the daemon settles before it starts (``server.startup``), with
fake endpoints: no port is bound here."""

import errno

import pytest
from twisted.internet import defer
from twisted.internet.address import IPv4Address, IPv6Address
from twisted.internet.error import CannotListenError
from twisted.internet.interfaces import IProtocolNegotiationFactory
from twisted.internet.testing import MemoryReactor
from twisted.web import resource, server

from remotetask.server.daemon.startup import (
    CannotStart, listenNow, parseEndpoint)


class FakePort:
    def __init__(self, address):
        self.address = address

    def getHost(self):
        return self.address


class FakeEndpoint:
    """listen() answers ``outcome`` (a port, a failure, or nothing yet)."""

    def __init__(self, outcome):
        self.outcome = outcome
        self.factory = None

    def listen(self, factory):
        self.factory = factory
        if self.outcome is None:
            return defer.Deferred()
        if isinstance(self.outcome, Exception):
            return defer.fail(self.outcome)
        return defer.succeed(self.outcome)


@pytest.mark.parametrize('code, words', [
    (errno.EADDRINUSE, 'port 8770 on 127.0.0.1 is in use (another server?);'
                       ' stop that one, or give --listen another port'),
    (errno.EACCES, 'not allowed to listen on port 8770 on 127.0.0.1'),
    (errno.EADDRNOTAVAIL, 'cannot listen on port 8770 on 127.0.0.1: '
                          '127.0.0.1 is not an address of this machine'),
    (errno.ENOBUFS, 'cannot listen on port 8770 on 127.0.0.1 (--listen '
                    'tcp:8770:interface=127.0.0.1): '),
])
def test_a_port_that_cannot_be_bound_is_one_line(code, words):
    """Each reason a bind fails is a CannotStart (a SystemExit, status 1)
    whose one line says what happened and what to do."""
    error = CannotListenError('127.0.0.1', 8770, OSError(code, 'reason'))
    with pytest.raises(CannotStart) as info:
        listenNow(FakeEndpoint(error), 'tcp:8770:interface=127.0.0.1')
    assert info.value.message.startswith(words)
    assert '\n' not in info.value.message
    assert info.value.code == f'remotetask: {info.value.message}'


def test_an_endpoint_that_binds_later_is_refused():
    """An endpoint whose bind does not finish at once is refused: its
    failure would come after the store was opened."""
    endpoint = FakeEndpoint(None)
    with pytest.raises(CannotStart, match='does not bind at once'):
        listenNow(endpoint, 'onion:80')


@pytest.mark.parametrize('address, description, url', [
    (IPv4Address('TCP', '127.0.0.1', 8770), 'tcp:8770',
     'http://127.0.0.1:8770/'),
    (IPv4Address('TCP', '0.0.0.0', 8770), 'tcp:8770',
     'http://127.0.0.1:8770/'),
    (IPv6Address('TCP', '::', 8771), 'ssl:8771', 'https://[::1]:8771/'),
    (IPv6Address('TCP', 'fe80::1', 8771), 'tcp6:8771',
     'http://[fe80::1]:8771/'),
])
def test_the_dashboard_url_is_one_a_browser_here_can_open(address,
                                                          description, url):
    """The logged URL uses the bound address (the loopback one for every
    interface) and https for an ssl endpoint."""
    listening = listenNow(FakeEndpoint(FakePort(address)), description)
    assert listening.dashboardURL() == url


def test_the_port_serves_the_site_from_serve_on():
    """Before serve() no connection is built; after it the site builds
    them, and TLS offers the site's protocols by ALPN."""
    endpoint = FakeEndpoint(FakePort(IPv4Address('TCP', '127.0.0.1', 1)))
    listening = listenNow(endpoint, 'tcp:1')
    factory = endpoint.factory
    address = IPv4Address('TCP', '127.0.0.1', 2)
    assert factory.buildProtocol(address) is None
    assert IProtocolNegotiationFactory(factory).acceptableProtocols() == \
        [b'http/1.1']
    site = server.Site(resource.Resource())
    listening.serve(site)
    assert factory.buildProtocol(address).factory is site
    assert factory.acceptableProtocols() == site.acceptableProtocols()


@pytest.mark.parametrize('description, words', [
    ('8770', 'for port 8770 write --listen tcp:8770:interface=127.0.0.1'),
    ('bogus:1', "there is no endpoint type 'bogus'; write tcp:PORT"),
    ('tcp:http', '--listen tcp:http: '),
])
def test_a_bad_endpoint_string_says_how_to_write_one(description, words):
    """--listen values that are not endpoints are ValueErrors saying how
    to write one."""
    with pytest.raises(ValueError) as info:
        parseEndpoint(MemoryReactor(), description)
    assert words in str(info.value)


def test_tls_not_installed_says_how_to_install_it_from_a_checkout(
        monkeypatch):
    """--listen ssl:... without pyOpenSSL names the extra both as a
    package and as an install from a checkout (README's way)."""
    from twisted.internet import endpoints

    def missing(reactor, description):
        raise ImportError('No module named OpenSSL')
    monkeypatch.setattr(endpoints, 'serverFromString', missing)
    with pytest.raises(ValueError) as info:
        parseEndpoint(MemoryReactor(), 'ssl:8770:privateKey=k:certKey=c')
    assert str(info.value).endswith(
        "install it with pip install 'remotetask[tls]' (from a checkout: "
        "pip install -e '.[tls]')")
