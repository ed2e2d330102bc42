"""API tokens on the wire (``remotetask.wire.tokens``): a token checked
against the store at most once per ``TRUST`` seconds, refused once
revoked or expired, its last use written at most once a minute, and the
login throttle applied to it. Time is a ``task.Clock``; the store is a
SQLite store's in memory, read in this thread."""

from twisted.cred import error
from twisted.internet import defer, task

from remotetask.core.permissions import Principal
from remotetask.store import openStore
from remotetask.wire.logins import AddressedCredentials, LoginChecker
from remotetask.wire.tokens import (
    TOUCH_EVERY, TRUST, BearerCredentials, TokenBook, digestOf, newToken)
from tests.wirefakes import makeChecker


class CountingStore:
    """A store call in this thread, counting the calls of each kind."""

    def __init__(self):
        self.calls = []

    def __call__(self, function, *args):
        self.calls.append(function.__name__)
        return defer.maybeDeferred(function, *args)


def makeBook(expires=None):
    tokens, store, clock = (openStore('memory:').apiTokens, CountingStore(),
                           task.Clock())
    clock.advance(1000.0)
    token = newToken()
    tokens.add('svc', digestOf(token), 'caller', ['echo'], 0.0, expires)
    return TokenBook(tokens, store, clock), tokens, store, clock, token


def outcome(d):
    found = []
    d.addCallbacks(found.append, lambda failure: found.append(
        'refused' if failure.check(error.UnauthorizedLogin) else failure))
    return found


def test_a_token_is_looked_up_at_most_once_per_trust_period():
    """Calls within TRUST seconds of a look-up are answered without the
    store; the next one after it asks the store again."""
    book, _, store, clock, token = makeBook()
    expected = Principal('svc', 'caller', ['echo'])
    assert outcome(book.verify(token.encode())) == [expected]
    for _ in range(100):
        assert outcome(book.verify(token.encode())) == [expected]
    assert store.calls.count('find') == 1
    clock.advance(TRUST)
    assert outcome(book.verify(token.encode())) == [expected]
    assert store.calls.count('find') == 2


def test_a_revoked_token_is_refused_after_the_trust_period():
    """Revoked in the store (by any server), a token is refused on the
    first call after the TRUST period."""
    book, tokens, _, clock, token = makeBook()
    assert outcome(book.verify(token)) != ['refused']
    tokens.revoke('svc')
    clock.advance(TRUST)
    assert outcome(book.verify(token)) == ['refused']
    assert outcome(book.verify(newToken())) == ['refused']


def test_an_expired_token_is_refused_even_when_remembered():
    """A token past its expiry is refused, also within the TRUST period
    of its last look-up."""
    book, _, _, clock, token = makeBook(expires=1000.2)
    assert outcome(book.verify(token)) != ['refused']
    clock.advance(0.2)
    assert outcome(book.verify(token)) == ['refused']


def test_the_last_use_is_written_at_most_once_a_minute():
    """Every look-up may see the token used; the store is told of its use
    at the first, then not again until TOUCH_EVERY seconds later."""
    book, tokens, store, clock, token = makeBook()
    for _ in range(int(TOUCH_EVERY / TRUST) - 1):
        outcome(book.verify(token))
        clock.advance(TRUST)
    assert store.calls.count('touch') == 1
    assert tokens.list()[0]['lastused'] == 1000.0
    clock.advance(TRUST)
    outcome(book.verify(token))
    assert store.calls.count('touch') == 2


def test_a_bearer_token_passes_the_login_throttle(tmp_path):
    """A wrong Bearer token is a failed login of its address: the next
    attempt from there, with a good token, waits the login delay."""
    checker, clock, events = makeChecker(tmp_path, ['bob:pw'], delay=1.0)
    book, _, _, _, token = makeBook()
    book.clock = clock
    checker.tokens = book
    address = '10.0.0.9'
    assert outcome(checker.requestAvatarId(BearerCredentials(
        b'rtk_wrong', address))) == ['refused']
    waited = outcome(checker.requestAvatarId(BearerCredentials(
        token.encode(), address)))
    assert waited == []
    clock.advance(1.0)
    assert waited == [Principal('svc', 'caller', ['echo'])]
    assert len(events) == 1


def test_a_token_as_a_basic_password_needs_its_own_name(tmp_path):
    """Sent as a Basic password, a token logs in under its own name, and
    is refused under another (a user's included)."""
    checker, clock, _ = makeChecker(tmp_path, ['bob:pw'], delay=0)
    book, _, _, _, token = makeBook()
    book.clock = clock
    checker.tokens = book
    assert outcome(checker.requestAvatarId(AddressedCredentials(
        b'svc', token.encode(), '10.0.0.1'))) == [
        Principal('svc', 'caller', ['echo'])]
    assert outcome(checker.requestAvatarId(AddressedCredentials(
        b'bob', token.encode(), '10.0.0.2'))) == ['refused']
    assert outcome(checker.requestAvatarId(AddressedCredentials(
        b'bob', b'pw', '10.0.0.3'))) == [b'bob']


def test_without_tokens_a_bearer_token_is_refused(tmp_path):
    """A checker given no TokenBook refuses every Bearer token."""
    checker, _, _ = makeChecker(tmp_path, ['bob:pw'], delay=0)
    assert isinstance(checker, LoginChecker) and checker.tokens is None
    assert outcome(checker.requestAvatarId(BearerCredentials(
        b'rtk_x', '10.0.0.1'))) == ['refused']
