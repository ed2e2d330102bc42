"""Checking logins: each failure logged, and guessing slowed per address.

``LoginChecker`` is the twisted.cred checker of the site (``--users``). It
checks a user's password against the users file (``passwords.UsersFile``)
and, through ``LoginThrottle``, makes an address that has just failed wait
before its next attempt is even checked: ``delay`` seconds after one
failure, doubling with each further one up to ``MAX_FACTOR`` times
``delay``. Attempts from such an address are checked one at a time, so
opening more connections does not buy more guesses; addresses without
recent failures, and everything that needs no login, are not slowed at
all. The wait is the reactor's clock (a delayed call), never a sleep.

Every failed login is logged with the user name and the client's address,
never the password. The address reaches the checker on the credentials,
which ``AddressedBasicCredentials`` (the site's credential factory) makes.

A hashed password takes about 50 ms to check, by design: that runs in a
thread, at most ``HASHING_THREADS`` at once, and a success is remembered
(as a keyed digest, never the password) until the users file changes, so
that a client sending its credentials with every call pays it once.
"""

import hashlib
import hmac
import os

from twisted.cred import credentials as creds, error
from twisted.cred.checkers import ICredentialsChecker
from twisted.internet import defer, task, threads
from twisted.logger import Logger
from twisted.python.failure import Failure
from twisted.web import guard
from zope.interface import implementer

from remotetask.wire.passwords import isHashed, matches
from remotetask.wire.tokens import IToken, looksLikeToken

#: The longest wait, as a multiple of the first one.
MAX_FACTOR = 32
#: An address is forgiven this many seconds after its last failure.
FORGET_AFTER = 15 * 60
#: At most this many addresses are remembered (the oldest go first).
MAX_ADDRESSES = 10000
#: Password hashes checked at once (each takes 16 MB while it runs).
HASHING_THREADS = 2


class AddressedCredentials(creds.UsernamePassword):
    """A user name and password, and the address they came from."""

    def __init__(self, username, password, address):
        super().__init__(username, password)
        self.address = address


class AddressedBasicCredentials(guard.BasicCredentialFactory):
    """HTTP Basic credentials that carry the client's address, for the
    checker to log and to slow down by."""

    def decode(self, response, request):
        decoded = super().decode(response, request)
        address = getattr(request.getClientAddress(), 'host', None)
        return AddressedCredentials(decoded.username, decoded.password,
                                    address)


class _Record:
    """What is known of an address that failed: how many failures in a
    row, when its next attempt may be checked, and a lock that lets its
    attempts through one at a time."""

    def __init__(self):
        self.failures = 0
        self.nextAt = 0.0
        self.lastFailure = 0.0
        self.lock = defer.DeferredLock()


class LoginThrottle:
    """Attempts by address: ``run(address, check)`` runs ``check`` (a
    function returning a Deferred of the avatar id, failing with
    ``UnauthorizedLogin``) at once for an address with no recent failure,
    otherwise in turn, after the wait its failures earned."""

    log = Logger()

    def __init__(self, delay, clock=None):
        if clock is None:
            from twisted.internet import reactor as clock
        self.delay = delay
        self.clock = clock
        self.records = {}

    def waitAfter(self, failures):
        """Seconds an address waits after ``failures`` in a row."""
        if failures < 1 or self.delay <= 0:
            return 0.0
        return self.delay * min(MAX_FACTOR, 2 ** (failures - 1))

    def run(self, address, check, username=b''):
        record = self._record(address)
        if record is None:
            d = defer.maybeDeferred(check)
            return d.addBoth(self._outcome, address, username)
        return record.lock.run(self._inTurn, record, address, check,
                               username)

    def _record(self, address):
        record = self.records.get(address)
        if record is not None and \
                self.clock.seconds() - record.lastFailure > FORGET_AFTER:
            del self.records[address]
            record = None
        return record

    def _inTurn(self, record, address, check, username):
        wait = record.nextAt - self.clock.seconds()
        if wait > 0:
            # check's own Deferred is chained into deferLater's.
            d = task.deferLater(self.clock, wait, check)
        else:
            d = defer.maybeDeferred(check)
        return d.addBoth(self._outcome, address, username)

    def _outcome(self, result, address, username):
        if isinstance(result, Failure) and \
                result.check(error.UnauthorizedLogin):
            self._failed(address, username)
        elif not isinstance(result, Failure):
            self.records.pop(address, None)
        return result

    def _failed(self, address, username):
        now = self.clock.seconds()
        record = self.records.pop(address, None) or _Record()
        # Re-inserted: the dict's order is the order of last failures.
        self.records[address] = record
        record.failures += 1
        record.lastFailure = now
        wait = self.waitAfter(record.failures)
        record.nextAt = now + wait
        self.log.warn(
            'Failed login for user {user!r} from {address} ({failures} in '
            'a row from there; its next attempt waits {wait:g} s)',
            user=username.decode('utf-8', 'replace'), address=address,
            failures=record.failures, wait=wait)
        while len(self.records) > MAX_ADDRESSES:
            del self.records[next(iter(self.records))]


@implementer(ICredentialsChecker)
class LoginChecker:
    """Checks user names and passwords against ``users`` (a
    ``passwords.UsersFile``), through a ``LoginThrottle`` of ``delay``
    seconds. ``inThread`` runs a function off the reactor thread (tests
    give one that does not)."""

    credentialInterfaces = (creds.IUsernamePassword, IToken)

    def __init__(self, users, delay=1.0, clock=None, inThread=None,
                 tokens=None):
        self.users = users
        #: API tokens (``tokens.TokenBook``), or None for none.
        self.tokens = tokens
        self.throttle = LoginThrottle(delay, clock)
        self.inThread = inThread or threads.deferToThread
        self.hashing = defer.DeferredSemaphore(HASHING_THREADS)
        self._secret = os.urandom(32)
        self._remembered = {}
        self._version = None

    def requestAvatarId(self, credentials):
        """The user name (bytes), or the ``Principal`` of an API token
        (sent as a Bearer token, or as the password of its name)."""
        address = getattr(credentials, 'address', None)
        if IToken.providedBy(credentials):
            check = self._bearer(credentials.token)
        elif self.tokens is not None and looksLikeToken(
                credentials.password):
            check = self._tokenAsPassword(credentials.username,
                                          credentials.password)
        else:
            def check():
                return self._check(credentials.username,
                                   credentials.password)
        return self.throttle.run(address, check, credentials.username)

    def _bearer(self, token):
        if self.tokens is None:
            return lambda: defer.fail(error.UnauthorizedLogin())
        return lambda: self.tokens.verify(token)

    def _tokenAsPassword(self, username, token):
        def named(principal):
            if principal.name.encode('utf-8') != username:
                raise error.UnauthorizedLogin()
            return principal
        return lambda: self.tokens.verify(token).addCallback(named)

    def _digest(self, username, password):
        return hmac.new(self._secret, username + b'\0' + password,
                        hashlib.sha256).digest()

    def _check(self, username, password):
        stored = self.users.stored(username)
        if self.users.version != self._version:
            self._remembered, self._version = {}, self.users.version
        if stored is None:
            return defer.fail(error.UnauthorizedLogin())
        if not isHashed(stored):
            if matches(password, stored):
                return defer.succeed(username)
            return defer.fail(error.UnauthorizedLogin())
        known = self._remembered.get(username)
        if known is not None and hmac.compare_digest(
                known, self._digest(username, password)):
            return defer.succeed(username)
        d = self.hashing.run(self.inThread, matches, password, stored)
        return d.addCallback(self._hashed, username, password)

    def _hashed(self, matched, username, password):
        if not matched:
            raise error.UnauthorizedLogin()
        self._remembered[username] = self._digest(username, password)
        return username
