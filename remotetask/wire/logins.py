"""Checking logins: each failure logged, and guessing slowed per address
and per user name.

``LoginChecker`` is the twisted.cred checker of the site (``--users``). It
checks a user's password against the users file (``passwords.UsersFile``)
and, through ``LoginThrottle``, makes an address that has just failed wait
before its next attempt is even checked: ``delay`` seconds after one
failure, doubling with each further one up to ``MAX_FACTOR`` times
``delay``. Attempts from such an address are checked one at a time, so
opening more connections does not buy more guesses. The user name tried
is slowed the same way, whatever address tries it: more addresses (all
of 127.0.0.0/8 is loopback) buy no more guesses either, so in total a
user's password is guessed at most once per ``MAX_FACTOR`` × ``delay``
seconds after a few failures (names the users file does not know share
one record). Credentials that succeeded before (remembered, see below)
are never slowed, so that guessing does not lock a user out; addresses
and users without recent failures, and everything that needs no login,
are not slowed at all. The wait is the reactor's clock (a delayed call),
never a sleep.

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
#: The record shared by every user name the users file does not know.
UNKNOWN = ('a user name not in the users file',)
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
    """Attempts by address and by user name: ``run(address, check,
    username, name)`` runs ``check`` (a function returning a Deferred of
    the avatar id, failing with ``UnauthorizedLogin``) at once when
    neither the address nor the user ``name`` has failed lately,
    otherwise in turn, after the longer of the waits their failures
    earned. ``name`` is the user's name when the users file knows it,
    else ``UNKNOWN``: every name it does not know shares one record, so
    that the records are bounded by the users, and guessing a user's
    password from more addresses buys no more guesses."""

    log = Logger()

    def __init__(self, delay, clock=None):
        if clock is None:
            from twisted.internet import reactor as clock
        self.delay = delay
        self.clock = clock
        self.records = {}
        self.names = {}

    def waitAfter(self, failures):
        """Seconds an address (or a user) waits after ``failures`` in a
        row."""
        if failures < 1 or self.delay <= 0:
            return 0.0
        return self.delay * min(MAX_FACTOR, 2 ** (failures - 1))

    def run(self, address, check, username=b'', name=UNKNOWN):
        records = [record for record in (
            self._record(self.records, address),
            self._record(self.names, name)) if record is not None]
        if not records:
            d = defer.maybeDeferred(check)
            return d.addBoth(self._outcome, address, name, username)
        return self._locked(records, records, address, name, check,
                            username)

    def _locked(self, locks, records, *args):
        """``_inTurn`` once every record's lock is held (in one order,
        the address's first, so that no two attempts wait on each
        other)."""
        if not locks:
            return self._inTurn(records, *args)
        return locks[0].lock.run(self._locked, locks[1:], records, *args)

    def _record(self, records, key):
        record = records.get(key)
        if record is not None and \
                self.clock.seconds() - record.lastFailure > FORGET_AFTER:
            del records[key]
            record = None
        return record

    def _inTurn(self, records, address, name, check, username):
        wait = max(record.nextAt for record in records) - self.clock.seconds()
        if wait > 0:
            # check's own Deferred is chained into deferLater's.
            d = task.deferLater(self.clock, wait, check)
        else:
            d = defer.maybeDeferred(check)
        return d.addBoth(self._outcome, address, name, username)

    def _outcome(self, result, address, name, username):
        if isinstance(result, Failure) and \
                result.check(error.UnauthorizedLogin):
            self._failed(address, name, username)
        elif not isinstance(result, Failure):
            self.records.pop(address, None)
            self.names.pop(name, None)
        return result

    def _note(self, records, key, now):
        """One more failure of ``key``; its record."""
        record = records.pop(key, None) or _Record()
        # Re-inserted: the dict's order is the order of last failures.
        records[key] = record
        record.failures += 1
        record.lastFailure = now
        record.nextAt = now + self.waitAfter(record.failures)
        return record

    def _failed(self, address, name, username):
        now = self.clock.seconds()
        record = self._note(self.records, address, now)
        user = self._note(self.names, name, now)
        self.log.warn(
            'Failed login for user {user!r} from {address} ({failures} in '
            'a row from there, {userFailures} for that user name; its next '
            'attempt waits {wait:g} s)',
            user=username.decode('utf-8', 'replace'), address=address,
            failures=record.failures, userFailures=user.failures,
            wait=max(record.nextAt, user.nextAt) - now)
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
            # No name to budget by: the guesses of unknown names share one.
            return self.throttle.run(address, self._bearer(credentials.token),
                                     credentials.username)
        username, password = credentials.username, credentials.password
        if self.tokens is not None and looksLikeToken(password):
            return self.throttle.run(
                address, self._tokenAsPassword(username, password), username)
        known = self.users.stored(username) is not None  # reads a new file
        if self._knownGood(username, password):
            # What succeeded before is not a guess: never slowed, so that
            # guessing a user's password does not lock the user out.
            return defer.succeed(username)
        name = username if known else UNKNOWN
        return self.throttle.run(
            address, lambda: self._check(username, password), username,
            name)

    def _knownGood(self, username, password):
        if self.users.version != self._version:
            self._remembered, self._version = {}, self.users.version
        known = self._remembered.get(username)
        return known is not None and hmac.compare_digest(
            known, self._digest(username, password))

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
        if stored is None:
            return defer.fail(error.UnauthorizedLogin())
        if not isHashed(stored):
            if matches(password, stored):
                return defer.succeed(self._hashed(True, username, password))
            return defer.fail(error.UnauthorizedLogin())
        if self._knownGood(username, password):
            return defer.succeed(username)
        d = self.hashing.run(self.inThread, matches, password, stored)
        return d.addCallback(self._hashed, username, password)

    def _hashed(self, matched, username, password):
        if not matched:
            raise error.UnauthorizedLogin()
        self._remembered[username] = self._digest(username, password)
        return username
