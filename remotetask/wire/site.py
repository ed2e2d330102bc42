"""The HTTP site: size limits and authentication around the resources.

The XML-RPC resource answers POSTs at every path but ``/api/`` (``/`` and
``/RPC2``, the path many clients assume, alike); GETs are the dashboard
(``remotetask.web``). With a password file, every request (``system.*``
included) needs HTTP Basic credentials, checked by ``twisted.cred`` through
``twisted.web.guard``.
"""

import io

from twisted.cred.checkers import FilePasswordDB
from twisted.cred.portal import IRealm, Portal
from twisted.web import guard, resource, server
from zope.interface import implementer


class LimitedRequest(server.Request):
    """A request whose body may not exceed ``maxSize`` bytes.

    A larger body is not kept: from the moment it passes the limit (or at
    once, when Content-Length announces it) the rest is read and dropped,
    and the resource answers with a RequestTooLarge fault. Reading on
    rather than hanging up lets the client see that answer.
    """

    maxSize = 10 * 1024 * 1024
    tooLargeFor = None

    def gotLength(self, length):
        if length is not None and length > self.maxSize:
            self.tooLargeFor = self.maxSize
            self.content = io.BytesIO()
            self._received = 0
            return
        super().gotLength(length)
        self._received = 0

    def handleContentChunk(self, data):
        if self.tooLargeFor is not None:
            return
        self._received += len(data)
        if self._received > self.maxSize:
            self.tooLargeFor = self.maxSize
            self.content.close()
            self.content = io.BytesIO()
            return
        self.content.write(data)


def limitedRequestFactory(maxSize):
    """A request factory for ``Site`` with the given body limit."""
    return type('LimitedRequest', (LimitedRequest,), dict(maxSize=maxSize))


@implementer(IRealm)
class SingleResourceRealm:
    """Every authenticated user gets the same resource tree."""

    def __init__(self, tree):
        self.tree = tree

    def requestAvatar(self, avatarId, mind, *interfaces):
        if resource.IResource in interfaces:
            return resource.IResource, self.tree, lambda: None
        raise NotImplementedError()


def protect(tree, passwordFile, realmName='remotetask'):
    """``tree`` behind HTTP Basic authentication against ``passwordFile``
    (lines of ``user:password``)."""
    portal = Portal(SingleResourceRealm(tree),
                    [FilePasswordDB(passwordFile, cache=True)])
    factory = guard.BasicCredentialFactory(realmName.encode('ascii'))
    return guard.HTTPAuthSessionWrapper(portal, [factory])


class Site(server.Site):
    """A ``Site`` that writes an access log line per request only when
    asked to: at thousands of calls a second, the log would cost more than
    the calls."""

    accessLog = False

    def log(self, request):
        if self.accessLog:
            super().log(request)


def makeSite(tree, maxRequestSize, passwordFile=None, accessLog=False):
    """A ``Site`` for ``tree``, protected when ``passwordFile`` is set."""
    if passwordFile:
        tree = protect(tree, passwordFile)
    site = Site(tree)
    site.accessLog = accessLog
    site.requestFactory = limitedRequestFactory(maxRequestSize)
    site.displayTracebacks = False
    return site
