"""The HTTP site: who it answers, size limits and authentication around
the resources.

The XML-RPC resource answers POSTs at every path but ``/api/`` (``/`` and
``/RPC2``, the path many clients assume, alike); GETs are the dashboard
(``remotetask.web``). A request naming a Host the server does not know
gets 421 before anything else (``Site``). With a password file, every
request (``system.*`` included) needs HTTP Basic credentials, checked by
``twisted.cred`` through ``twisted.web.guard`` (``remotetask.wire.logins``:
failures logged and slowed per address). Every answer, an exception's
included, takes the one path of ``remotetask.wire.answers``.
"""

import functools
import io
import ipaddress

from twisted.cred.portal import IRealm, Portal
from twisted.web import guard, resource, server
from zope.interface import implementer

from remotetask.core.permissions import Principal
from remotetask.wire import answers, bodies
from remotetask.wire.logins import AddressedBasicCredentials, LoginChecker
from remotetask.wire.passwords import UsersFile
from remotetask.wire.remembered import Logins, RememberedLogins
from remotetask.wire.rules import EveryoneAdmin, RolesFile
from remotetask.wire.tokens import BearerCredentialFactory
from remotetask.wire.sending import Outbox
from remotetask.wire.spool import Spool, SpooledFile, SpoolFull


#: Bodies of these content types are never form fields, so Twisted need
#: not parse the header to find out: it parses it through the ``email``
#: package, which cost a fifth of a bare XML-RPC call (issue 18).
NOT_FORMS = frozenset((b'text/xml', b'application/xml', b'application/json'))


def notAForm(request):
    """Whether ``request``'s Content-Type says plainly (a type and
    parameters, no comments) that its body is not a form Twisted would
    read into ``request.args``."""
    kind = request.requestHeaders.getRawHeaders(b'content-type')
    return bool(kind) and kind[0].split(b';', 1)[0].strip().lower() \
        in NOT_FORMS


class LimitedRequest(server.Request):
    """A request whose body may not exceed ``maxSize`` bytes.

    A larger body is not kept: from the moment it passes the limit (or at
    once, when Content-Length announces it) the rest is read and dropped,
    and the resource answers with a RequestTooLarge fault. Reading on
    rather than hanging up lets the client see that answer.
    """

    maxSize = 10 * 1024 * 1024
    tooLargeFor = None
    #: ``(status, message)`` answered instead of the resource's answer.
    refusal = None
    #: Decodes a compressed body (``remotetask.wire.bodies``).
    inflater = None

    def _tell(self, event):
        # The connection's deadlines (connections.GuardedConnection), when
        # the site is served through ConnectionLimits.
        connection = getattr(self.channel, 'transport', None)
        hook = getattr(connection, event, None)
        if hook is not None:
            hook()

    def gotLength(self, length):
        self._tell('headersReceived')
        self._gotLength(length)

    def requestReceived(self, command, path, version):
        self._tell('requestReceived')
        if self.inflater is not None and self.tooLargeFor is None and \
                self.refusal is None:
            try:
                self.inflater.end()
            except bodies.BadEncoding as error:
                self._drop(refusal=(400, f'{error}.\n'))
        if notAForm(self):
            self._parsePOSTFormSubmission = False
        super().requestReceived(command, path, version)

    def process(self):
        if self.refusal is None:
            return super().process()
        self.site = self.channel.site
        code, message = self.refusal
        answers.send((code, message.encode('utf-8', 'backslashreplace')),
                     self, answers.TEXT)

    def finish(self):
        # Before finishing: finishing may start on a request the client
        # sent meanwhile, whose own deadlines come after this.
        if not self.finished and self.channel is not None:
            self._tell('answered')
        super().finish()

    def processingFailed(self, reason):
        """An exception that escaped a resource's ``render``: answered on
        the resource's surface, through the one path every answer takes."""
        answers.send(reason, self, answers.surfaceOf(self))
        return reason

    def _gotLength(self, length):
        self._received = 0
        encoding = bodies.encodingOf(self)
        if encoding in bodies.DECODED:
            self.inflater = bodies.Inflater(encoding, self.maxSize)
        elif encoding not in bodies.IDENTITY:
            self._drop(refusal=(415, (
                f'This server reads request bodies sent as they are, or '
                f'with Content-Encoding gzip or deflate, not '
                f'{encoding.decode("latin-1")!r}.\n')))
            return
        if length is not None and length > self.maxSize:
            self._drop(self.maxSize)
            return
        if self.inflater is not None:
            length = None
        spool = getattr(self.channel.site, 'spool', None)
        if spool is None:
            super().gotLength(length)
            return
        try:
            self.content = spool.contentFile(length)
        except SpoolFull as error:
            self._drop(refusal=(503, f'{error}\n'))

    def _drop(self, tooLargeFor=None, refusal=None):
        """Keep no more of the body; it is answered with fault 7
        (``tooLargeFor``) or with ``refusal``."""
        if self.content is not None:
            self.content.close()
        self.content = io.BytesIO()
        self.tooLargeFor = tooLargeFor
        self.refusal = refusal

    def handleContentChunk(self, data):
        if self.tooLargeFor is not None or self.refusal is not None:
            return
        self._received += len(data)
        if self.inflater is not None:
            try:
                data = self.inflater.feed(data)
            except bodies.BodyTooLarge:
                self._drop(self.maxSize)
                return
            except bodies.BadEncoding as error:
                self._drop(refusal=(400, f'{error}.\n'))
                return
        elif self._received > self.maxSize:
            self._drop(self.maxSize)
            return
        try:
            self.content.write(data)
        except SpoolFull as error:
            self._drop(refusal=(503, f'{error}\n'))

    def connectionLost(self, reason):
        # A body cut short no longer holds its room in the spool.
        if isinstance(self.content, SpooledFile):
            self.content.close()
        super().connectionLost(reason)


def limitedRequestFactory(maxSize):
    """A request factory for ``Site`` with the given body limit."""
    return type('LimitedRequest', (LimitedRequest,), dict(maxSize=maxSize))


@implementer(resource.IResource)
class CallerResource:
    """The tree, as seen by one ``Principal``: each request through it
    carries it as ``request.principal``, for the resources to decide by
    (``remotetask.core.permissions``); its credentials are remembered in
    ``logins`` (``remembered.Logins``) for the next requests."""

    isLeaf = False

    def __init__(self, tree, principal, logins):
        self.tree = tree
        self.principal = principal
        self.logins = logins

    def getChildWithDefault(self, name, request):
        request.principal = self.principal
        self.logins.remember(request, self.principal)
        return self.tree.getChildWithDefault(name, request)

    def render(self, request):
        request.principal = self.principal
        self.logins.remember(request, self.principal)
        return self.tree.render(request)

    def putChild(self, path, child):
        raise NotImplementedError()


@implementer(IRealm)
class RolesRealm:
    """Every authenticated user gets the same resource tree, as its
    ``Principal``: an API token's own, or a user's from ``roles`` (a
    ``rules.RolesFile``, or ``rules.EveryoneAdmin`` without one)."""

    def __init__(self, tree, roles=None, logins=None):
        self.tree = tree
        self.roles = roles if roles is not None else EveryoneAdmin()
        self.logins = logins if logins is not None else Logins()

    def requestAvatar(self, avatarId, mind, *interfaces):
        if resource.IResource not in interfaces:
            raise NotImplementedError()
        if isinstance(avatarId, Principal):
            principal = avatarId
        else:
            principal = self.roles.principal(
                avatarId.decode('utf-8', 'surrogateescape'))
        return (resource.IResource,
                CallerResource(self.tree, principal, self.logins),
                lambda: None)


def protect(tree, passwordFile, realmName='remotetask', loginDelay=1.0,
            rolesFile=None, tokens=None):
    """``tree`` behind HTTP authentication: Basic against ``passwordFile``
    (``passwords.UsersFile``), and API tokens (``tokens``, a
    ``tokens.TokenBook``, as Bearer tokens or Basic passwords), failed
    logins logged and slowed per address (``logins.LoginChecker``); each
    user's role from ``rolesFile`` (every one an admin without it). A
    login is remembered for a moment (``remembered``), so that a client
    sending the same credentials with every call is not checked again at
    every call."""
    checker = LoginChecker(UsersFile(passwordFile), loginDelay,
                           tokens=tokens)
    roles = RolesFile(rolesFile) if rolesFile else None
    logins = Logins()
    portal = Portal(RolesRealm(tree, roles, logins), [checker])
    name = realmName.encode('ascii')
    factories = [AddressedBasicCredentials(name)]
    if tokens is not None:
        factories.append(BearerCredentialFactory(name))
    guarded = guard.HTTPAuthSessionWrapper(portal, factories)
    return RememberedLogins(guarded, tree, logins)


class MisdirectedRequest(resource.Resource):
    """421 for a Host this server does not answer to."""

    isLeaf = True

    def __init__(self, host):
        super().__init__()
        self.host = host

    def render(self, request):
        request.setResponseCode(421)
        request.setHeader(b'content-type', b'text/plain; charset=utf-8')
        return (f'This server does not answer to the host {self.host!r}; '
                'its operator can allow it with --allowed-host.\n'
                ).encode('utf-8', 'backslashreplace')


class Refusal(resource.Resource):
    """A plain ``status`` answer with ``message``, for any request."""

    isLeaf = True

    def __init__(self, status, message):
        super().__init__()
        self.status = status
        self.message = message

    def render(self, request):
        request.setResponseCode(self.status)
        request.setHeader(b'content-type', b'text/plain; charset=utf-8')
        return self.message.encode('utf-8')


#: Host headers up to this long (a name has at most 253 characters) are
#: remembered by ``hostName``; longer ones, which name no host, are not.
REMEMBERED_HOST = 300


def hostName(header):
    """The name of a Host header (bytes), without its port or brackets,
    in lower case; an IP address in its normal form.

    Remembered for the last few headers: a client sends the same Host
    with every call, and reading an address through ``ipaddress`` cost
    a hundredth of a job (issue 18). Only short headers are kept, so
    that what is remembered stays small whatever clients send."""
    if len(header) <= REMEMBERED_HOST:
        return _rememberedHostName(header)
    return _hostName(header)


@functools.lru_cache(maxsize=256)
def _rememberedHostName(header):
    return _hostName(header)


def _hostName(header):
    text = header.decode('latin-1').strip().lower()
    if text.startswith('['):
        name = text[1:].partition(']')[0]
    elif text.count(':') == 1:
        name = text.partition(':')[0]
    else:
        name = text
    name = name.rstrip('.')
    try:
        address = ipaddress.ip_address(name)
    except ValueError:
        return name
    return str(getattr(address, 'ipv4_mapped', None) or address)


class Site(server.Site):
    """A ``Site`` that answers only to the hosts it knows, and writes an
    access log line per request only when asked to (at thousands of calls
    a second, the log would cost more than the calls).

    A page of another site can reach a server on 127.0.0.1 by making its
    own name resolve there (DNS rebinding); the browser then sends that
    name as the Host, and treats the answers as the page's own. So a
    request is answered only when its Host names ``localhost``, the
    address the connection came in on, or one of ``allowedHosts``
    (``--allowed-host``); others get 421 before anything else, on every
    surface. A request without a Host (HTTP/1.0) comes from no browser
    and is answered.
    """

    accessLog = False
    allowedHosts = frozenset()
    #: Sends the answers (``remotetask.wire.sending``); None: at once.
    outbox = None
    #: Holds large request bodies (``remotetask.wire.spool``).
    spool = None

    def log(self, request):
        if self.accessLog:
            super().log(request)

    def getResourceFor(self, request):
        hosts = request.requestHeaders.getRawHeaders(b'host') or []
        if len(hosts) > 1:
            # Which one counts differs between servers and proxies: an
            # evil first one must not be answered for a good last one.
            return Refusal(400, 'A request names one Host, not '
                           f'{len(hosts)}.\n')
        header = hosts[0] if hosts else None
        if header is not None and not self.answersTo(hostName(header),
                                                     request):
            request.site = self
            return MisdirectedRequest(header.decode('latin-1'))
        if b'\0' in request.path or b'%00' in request.path.lower():
            return Refusal(404, 'No such page.\n')
        return super().getResourceFor(request)

    def answersTo(self, name, request):
        if name == 'localhost' or name in self.allowedHosts:
            return True
        local = getattr(request.getHost(), 'host', None)
        return local is not None and name == hostName(local.encode())


def makeSite(tree, maxRequestSize, passwordFile=None, accessLog=False,
             allowedHosts=(), loginDelay=1.0, outbox=None, spool=None,
             rolesFile=None, tokens=None):
    """A ``Site`` for ``tree``, protected when ``passwordFile`` is set,
    answering to ``allowedHosts`` besides localhost and its own address;
    failed logins from an address slow its next ones, from
    ``loginDelay`` seconds on (``remotetask.wire.logins``). Its answers
    are sent through ``outbox`` (``remotetask.wire.sending.Outbox``, by
    default one with the default limits); large request bodies are kept
    in ``spool`` (``remotetask.wire.spool.Spool``, likewise). With
    ``passwordFile``, each user's role is read from ``rolesFile``, and API
    tokens are checked by ``tokens`` (``remotetask.wire.tokens.TokenBook``).
    """
    if passwordFile:
        tree = protect(tree, passwordFile, loginDelay=loginDelay,
                       rolesFile=rolesFile, tokens=tokens)
    site = Site(tree)
    site.outbox = outbox if outbox is not None else Outbox()
    site.spool = spool if spool is not None else Spool()
    site.accessLog = accessLog
    site.allowedHosts = frozenset(hostName(name.encode('utf-8'))
                                  for name in allowedHosts)
    site.requestFactory = limitedRequestFactory(maxRequestSize)
    site.displayTracebacks = False
    return site
