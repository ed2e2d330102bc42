"""Credentials checked a moment ago, let through without checking again.

``twisted.web.guard`` logs in on every request: it decodes the header,
goes through the portal and the checker, and wraps the avatar in a proxy
class made afresh for each request. That costs more than a short call
itself (a ``getStatus``: about half as much again). A client sends the
same ``Authorization`` header with every call, so ``RememberedLogins``,
in front of the guard, lets a header that logged in less than
``REMEMBER`` seconds ago go straight to the tree as the same ``Principal``; any other
request goes through the guard, whose successes are remembered here (by
``site.CallerResource``).

The header is remembered as a keyed digest (a random key per start),
never as itself. ``REMEMBER`` is short, so that what changes behind a
login holds within it: an edited users or roles file; a revoked token
within it and the ``TokenBook``'s own ``TRUST``. A failed
login is never remembered; the login throttle sees every attempt that is
not a header that just succeeded.
"""

import hashlib
import hmac
import os

from twisted.web import resource
from zope.interface import implementer

#: Seconds a login is remembered.
REMEMBER = 0.25
#: Headers remembered at once (the oldest go first).
MAX_REMEMBERED = 10000


class Logins:
    """``{digest of an Authorization header: (Principal, since)}``, each
    trusted for ``trust`` seconds of ``clock``."""

    def __init__(self, clock=None, trust=REMEMBER):
        if clock is None:
            from twisted.internet import reactor as clock
        self.clock = clock
        self.trust = trust
        self._key = os.urandom(32)
        self._known = {}

    def _digest(self, header):
        return hmac.new(self._key, header, hashlib.sha256).digest()

    def find(self, request):
        """The ``Principal`` the request's header logged in as less than
        ``trust`` seconds ago, or None."""
        header = request.getHeader(b'authorization')
        if header is None:
            return None
        known = self._known.get(self._digest(header))
        if known is None or self.clock.seconds() - known[1] >= self.trust:
            return None
        return known[0]

    def remember(self, request, principal):
        header = request.getHeader(b'authorization')
        if header is None:
            return
        digest = self._digest(header)
        self._known.pop(digest, None)
        self._known[digest] = (principal, self.clock.seconds())
        while len(self._known) > MAX_REMEMBERED:
            del self._known[next(iter(self._known))]


@implementer(resource.IResource)
class RememberedLogins:
    """``guarded`` (the guard around ``tree``), bypassed for a request
    whose credentials ``logins`` remembers."""

    isLeaf = False

    def __init__(self, guarded, tree, logins):
        self.guarded = guarded
        self.tree = tree
        self.logins = logins

    def getChildWithDefault(self, name, request):
        principal = self.logins.find(request)
        if principal is None:
            return self.guarded.getChildWithDefault(name, request)
        request.principal = principal
        return self.tree.getChildWithDefault(name, request)

    def render(self, request):
        principal = self.logins.find(request)
        if principal is None:
            return self.guarded.render(request)
        request.principal = principal
        return self.tree.render(request)

    def putChild(self, path, child):
        raise NotImplementedError()
