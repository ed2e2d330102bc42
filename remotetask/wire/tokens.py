"""API tokens on the wire (issue 22): made, sent and checked.

A token is ``rtk_`` and 43 characters of URL-safe base64 (256 random
bits), shown once when it is made (``remotetask token create``). The
server keeps its SHA-256 only, beside the jobs (``TaskService.apiTokens``:
a fast hash is right for a secret nobody can guess, and costs a
microsecond).

A client sends it either as ``Authorization: Bearer <token>``
(``BearerCredentialFactory``) or as the password of HTTP Basic, with the
token's name as the user name, for clients that only know
``http://user:password@host/``. ``logins.LoginChecker`` takes both,
through the same throttle as passwords.

``TokenBook.verify`` answers from what it learnt of a token in the last
``TRUST`` seconds, and asks the store again after that: a call costs a
hash and a dict look-up, never a store read. A login is also remembered
for ``remembered.REMEMBER`` seconds before it is checked here again, so
a token revoked on any server sharing the store is refused on this one
within the sum of the two, half a second (plus one store read). A
token's last use is written at most once every ``TOUCH_EVERY`` seconds
per server.
"""

import hashlib
import secrets

from twisted.cred import credentials as creds, error
from twisted.internet import defer
from twisted.logger import Logger
from twisted.web.iweb import ICredentialFactory
from zope.interface import Attribute, implementer

from remotetask.core.permissions import Principal

PREFIX = 'rtk_'
#: Seconds a token looked up in the store is trusted without a new look.
TRUST = 0.25
#: Seconds between two writes of a token's last use, per server.
TOUCH_EVERY = 60.0
#: Tokens remembered at once (the least recently looked up go first).
MAX_REMEMBERED = 10000


def newToken():
    """A new token (str): 256 random bits."""
    return PREFIX + secrets.token_urlsafe(32)


def digestOf(token):
    """The stored form of ``token`` (str or bytes): its SHA-256, hex."""
    if isinstance(token, str):
        token = token.encode('utf-8')
    return hashlib.sha256(token).hexdigest()


def looksLikeToken(password):
    """Whether a Basic password (bytes) is a token, not a user's."""
    return password.startswith(PREFIX.encode('ascii'))


class IToken(creds.ICredentials):
    """A bearer token, and the address it came from."""

    token = Attribute('The token (bytes).')
    address = Attribute("The client's address, or None.")


@implementer(IToken)
class BearerCredentials:
    def __init__(self, token, address):
        self.token = token
        self.address = address
        self.username = b'(bearer token)'


@implementer(ICredentialFactory)
class BearerCredentialFactory:
    """``Authorization: Bearer <token>`` (RFC 6750)."""

    scheme = b'bearer'

    def __init__(self, realm):
        self.realm = realm

    def getChallenge(self, request):
        return {'realm': self.realm}

    def decode(self, response, request):
        token = response.strip()
        if not token:
            raise error.LoginFailed('A Bearer token is empty.')
        address = getattr(request.getClientAddress(), 'host', None)
        return BearerCredentials(token, address)


class _Known:
    __slots__ = ('principal', 'expires', 'lookedAt', 'touchedAt')

    def __init__(self, principal, expires, lookedAt, touchedAt):
        self.principal = principal
        self.expires = expires
        self.lookedAt = lookedAt
        self.touchedAt = touchedAt


class TokenBook:
    """Checks tokens against ``tokens`` (an ``IApiTokenStore``), read
    through ``storeCall`` (a store thread), remembering each for
    ``trust`` seconds of ``clock``."""

    log = Logger()

    def __init__(self, tokens, storeCall, clock=None, trust=TRUST):
        if clock is None:
            from twisted.internet import reactor as clock
        self.tokens = tokens
        self.storeCall = storeCall
        self.clock = clock
        self.trust = trust
        self._known = {}

    def verify(self, token):
        """A Deferred of the token's ``Principal``; it fails with
        ``UnauthorizedLogin`` for a token unknown, revoked or expired."""
        digest = digestOf(token)
        known = self._known.get(digest)
        now = self.clock.seconds()
        if known is not None and now - known.lookedAt < self.trust:
            return defer.maybeDeferred(self._valid, known, now)
        d = self.storeCall(self.tokens.find, digest)
        return d.addCallback(self._found, digest, known)

    def _found(self, row, digest, known):
        now = self.clock.seconds()
        self._known.pop(digest, None)
        if row is None:
            raise error.UnauthorizedLogin()
        touchedAt = row['lastused'] or 0.0
        if known is not None:
            touchedAt = max(touchedAt, known.touchedAt)
        entry = _Known(Principal(row['name'], row['role'], row['tasks']),
                       row['expires'], now, touchedAt)
        self._known[digest] = entry
        while len(self._known) > MAX_REMEMBERED:
            del self._known[next(iter(self._known))]
        principal = self._valid(entry, now)
        if now - entry.touchedAt >= TOUCH_EVERY:
            entry.touchedAt = now
            self.storeCall(self.tokens.touch, digest, now).addErrback(
                self._touchFailed, row['name'])
        return principal

    @staticmethod
    def _valid(entry, now):
        if entry.expires is not None and now >= entry.expires:
            raise error.UnauthorizedLogin()
        return entry.principal

    def _touchFailed(self, failure, name):
        self.log.warn('Recording the use of token {name!r} failed: '
                      '{error}', name=name, error=failure.value)
