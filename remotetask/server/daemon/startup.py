"""What the daemon settles before its services start.

A server that cannot listen must not touch its store: a second server on
a taken port would otherwise open the first one's SQLite file and put its
running jobs back in the queue. So ``makeService`` binds the port first
(``listenNow``), then opens the store, then composes the rest; the bound
port holds connections in its backlog until the web service starts and
hands it the site (``Listening.serve``).

Anything that stops a start is a ``CannotStart``: one line for a person,
no traceback.
"""

import errno
import re

from twisted.internet import endpoints, error as netError, protocol
from twisted.internet.interfaces import IProtocolNegotiationFactory
from twisted.logger import Logger
from twisted.python import failure
from zope.interface import implementer

from remotetask import store as stores
from remotetask.errors import StoreLocked

log = Logger()

_PORT = re.compile(r'\d+')


class CannotStart(SystemExit):
    """The server cannot start; ``message`` says why, in one line.

    A SystemExit, because ``twistd`` calls ``makeService`` before its log
    begins and handles nothing raised there: this way it prints the line
    on stderr and exits with status 1, as it does for its own "Another
    twistd server is running".
    """

    def __init__(self, message):
        super().__init__(f'remotetask: {message}')
        self.message = message


def parseEndpoint(reactor, description):
    """The server endpoint ``description`` names; a ValueError saying
    what is wrong and how to write it instead."""
    if _PORT.fullmatch(description):
        raise ValueError(
            f'--listen {description} is not an endpoint; for port '
            f'{description} write --listen tcp:{description}:interface='
            '127.0.0.1')
    try:
        return endpoints.serverFromString(reactor, description)
    except ImportError as error:
        if description.startswith('ssl:'):
            raise ValueError(
                f'--listen {description} needs TLS support, which is not '
                "installed; install it with pip install 'remotetask[tls]' "
                "(from a checkout: pip install -e '.[tls]')") from None
        raise ValueError(f'--listen {description}: {error}') from None
    except Exception as error:
        kind = description.partition(':')[0]
        if str(error).startswith('Unknown endpoint type'):
            raise ValueError(
                f'--listen {description}: there is no endpoint type '
                f'{kind!r}; write tcp:PORT:interface=ADDRESS, or ssl:PORT:'
                'privateKey=KEY:certKey=CERT for TLS') from None
        raise ValueError(f'--listen {description}: {error}') from None


@implementer(IProtocolNegotiationFactory)
class _PendingFactory(protocol.Factory):
    """Stands in for the site on a port bound before the site exists;
    from ``serve(site)`` on, every connection is the site's, and so are
    the protocols TLS offers by ALPN (without any, a client that offers
    ALPN, as http.client does, is refused)."""

    noisy = False
    site = None

    def logPrefix(self):
        return 'remotetask'

    def serve(self, site):
        self.site = site
        site.doStart()

    def stopFactory(self):
        if self.site is not None:
            self.site.doStop()

    def acceptableProtocols(self):
        negotiation = IProtocolNegotiationFactory(self.site, None)
        if negotiation is None:
            return [b'http/1.1']
        return negotiation.acceptableProtocols()

    def buildProtocol(self, addr):
        # Connections wait in the backlog until the reactor runs, and the
        # services start before it does: None (close) cannot happen in
        # the daemon, only if serve() is never called.
        if self.site is None:
            return None
        return self.site.buildProtocol(addr)


class Listening:
    """A port bound by ``listenNow``, not yet serving."""

    def __init__(self, port, factory, description):
        self.port = port
        self.description = description
        self._factory = factory

    @property
    def secure(self):
        return self.description.startswith('ssl:')

    def serve(self, site):
        """Hand every connection, from now on, to ``site``."""
        self._factory.serve(site)

    def dashboardURL(self):
        """Where a browser on this machine finds the dashboard, or None
        (a UNIX socket)."""
        address = self.port.getHost()
        host = getattr(address, 'host', None)
        if host is None:
            return None
        host = {'0.0.0.0': '127.0.0.1', '::': '::1'}.get(host, host)
        if ':' in host:
            host = f'[{host}]'
        scheme = 'https' if self.secure else 'http'
        return f'{scheme}://{host}:{address.port}/'

    def address(self):
        address = self.port.getHost()
        if getattr(address, 'port', None) is None:
            return str(getattr(address, 'name', address))
        return f'{address.host}:{address.port}'


def _cannotListen(error, description):
    """A CannotListenError in one line that says what to do."""
    code = getattr(error.socketError, 'errno', None)
    interface = error.interface or 'every interface'
    where = f'port {error.port} on {interface}'
    if code == errno.EADDRINUSE:
        return (f'{where} is in use (another server?); stop that one, or '
                'give --listen another port')
    if code in (errno.EACCES, errno.EPERM):
        return (f'not allowed to listen on {where} (ports below 1024 need '
                'privileges); give --listen another port')
    if code == errno.EADDRNOTAVAIL:
        return (f'cannot listen on {where}: {interface} is not an address '
                'of this machine')
    reason = getattr(error.socketError, 'strerror', None) or error.socketError
    return f'cannot listen on {where} (--listen {description}): {reason}'


def listenNow(endpoint, description):
    """Bind ``endpoint`` at once; a ``Listening``, or ``CannotStart``.

    Every endpoint Twisted ships for servers (tcp, ssl, unix, systemd)
    binds synchronously; one that would bind later is refused, since its
    failure would come after the store was opened.
    """
    factory = _PendingFactory()
    outcome = []
    d = endpoint.listen(factory)
    d.addBoth(outcome.append)
    if not outcome:
        d.cancel()
        raise CannotStart(
            f'--listen {description} does not bind at once; use a tcp:, '
            'ssl: or unix: endpoint')
    if isinstance(outcome[0], failure.Failure):
        error = outcome[0].value
        if isinstance(error, netError.CannotListenError):
            raise CannotStart(_cannotListen(error, description))
        raise CannotStart(f'cannot listen on {description}: {error}')
    return Listening(outcome[0], factory, description)


def openStore(spec, serverId=None, heartbeatTimeout=30.0, timeout=None):
    """The store ``spec`` names (``remotetask.store.openStore``), or
    ``CannotStart`` saying why not: another server holds it, it cannot be
    opened."""
    try:
        return stores.openStore(spec, serverId, heartbeatTimeout, timeout)
    except StoreLocked as error:
        raise CannotStart(str(error)) from None
    except Exception as error:
        reason = ' '.join(str(error).split())
        raise CannotStart(f'cannot open the store, '
                          f'{stores.describeStore(spec)}: {reason}') from None


def _taskNames(registry, most=20):
    names = sorted(registry.getAvailableTasks())
    if not names:
        return ('none (give --examples, --task or --commands, or install '
                'a package with remotetask.tasks entry points)')
    shown = ', '.join(names[:most])
    if len(names) > most:
        shown += f' and {len(names) - most} more'
    return shown


def logStartup(spec, workers, pool, registry):
    """Log what this server runs on and runs; ``WebService`` then logs
    where it listens."""
    log.info('remotetask store: {store}', store=stores.describeStore(spec))
    kind = 'process' if pool == 'process' else 'thread'
    plural = {'process': 'processes', 'thread': 'threads'}[kind]
    log.info('remotetask workers: {workers} worker {kind} (--pool {pool})',
             workers=workers, kind=kind if workers == 1 else plural,
             pool=pool)
    log.info('remotetask tasks: {names}', names=_taskNames(registry))
