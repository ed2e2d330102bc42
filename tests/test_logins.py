"""Logins (``remotetask.wire.logins`` and ``passwords``): the users file,
hashed passwords, and failed logins logged and slowed per address. Time
is a ``task.Clock``; hashes are checked in this thread."""

import pytest
from twisted.cred import error

from remotetask.wire import logins
from remotetask.wire.logins import AddressedCredentials, MAX_FACTOR
from remotetask.wire.passwords import hashPassword, matches, readUsers
from tests.wirefakes import DELAY, makeChecker


def attempt(checker, user, password, address='10.0.0.1'):
    """A login attempt: a list that gets ('ok', id) or ('refused',) when
    it is decided."""
    outcome = []
    d = checker.requestAvatarId(AddressedCredentials(
        user.encode(), password.encode(), address))
    d.addCallbacks(lambda avatar: outcome.append(('ok', avatar)),
                   lambda failure: outcome.append(
                       ('refused',) if failure.check(error.UnauthorizedLogin)
                       else failure))
    return outcome


# The users file

def test_everything_after_the_first_colon_is_the_password(tmp_path):
    """``bob:pa:ss`` is user bob with password ``pa:ss`` (it was ``pa``);
    blank lines and comments are skipped."""
    checker, _, _ = makeChecker(tmp_path, ['# the users', '', 'bob:pa:ss'])
    assert attempt(checker, 'bob', 'pa:ss') == [('ok', b'bob')]
    assert attempt(checker, 'bob', 'pa', '10.0.0.2') == [('refused',)]
    assert readUsers(str(tmp_path / 'users')) == {'bob': 'pa:ss'}


@pytest.mark.parametrize('line, words', [
    ('bob', 'not user:password'), (':secret', 'not user:password'),
    ('bob:', 'empty'), ('bob:$scrypt$ln=14$x', 'whole hash'),
    ('bob:$scrypt$ln=30,r=8,p=1$AAAA$AAAA', 'more than this server'),
])
def test_a_malformed_line_is_an_error_naming_it(tmp_path, line, words):
    """A line that is not ``user:password``, an empty password or a
    broken or too costly hash is an error naming the file and line, not
    a user silently left out."""
    path = tmp_path / 'users'
    path.write_text(f'ann:fine\n{line}\n')
    with pytest.raises(ValueError) as refused:
        readUsers(str(path))
    assert f'{path}, line 2' in str(refused.value)
    assert words in str(refused.value)


def test_hashed_entries_are_checked_and_a_success_remembered(
        tmp_path, monkeypatch):
    """A ``$scrypt$`` entry accepts its password only; a success is
    remembered, so the next request with the same credentials costs no
    hash, until the file changes."""
    entry = hashPassword('s3cret:with colon')
    assert entry.startswith('$scrypt$ln=14,r=8,p=1$') and ':' not in entry
    assert matches(b's3cret:with colon', entry)
    assert not matches(b's3cret', entry)
    checker, clock, _ = makeChecker(tmp_path, [f'bob:{entry}'])
    hashed = []
    monkeypatch.setattr(logins, 'matches', lambda password, stored: (
        hashed.append(1) or matches(password, stored)))
    assert attempt(checker, 'bob', 's3cret:with colon') == [('ok', b'bob')]
    assert attempt(checker, 'bob', 's3cret:with colon') == [('ok', b'bob')]
    assert attempt(checker, 'bob', 'wrong', '10.0.0.3') == [('refused',)]
    assert len(hashed) == 2
    (tmp_path / 'users').write_text(f'bob:{hashPassword("new")}\n')
    # bob's failure slows his next attempts, from any address.
    old = attempt(checker, 'bob', 's3cret:with colon', '10.0.0.4')
    clock.advance(DELAY)
    assert old == [('refused',)]
    new = attempt(checker, 'bob', 'new', '10.0.0.5')
    clock.advance(2 * DELAY)
    assert new == [('ok', b'bob')]


def test_a_plain_password_and_a_hashed_one_can_share_a_file(tmp_path):
    """Plain-text and hashed entries live side by side."""
    checker, _, _ = makeChecker(
        tmp_path, ['ann:plain', f'bob:{hashPassword("hashed")}'])
    assert attempt(checker, 'ann', 'plain') == [('ok', b'ann')]
    assert attempt(checker, 'bob', 'hashed') == [('ok', b'bob')]
    assert attempt(checker, 'ann', 'hashed', '10.0.0.9') == [('refused',)]


# Guessing

def test_each_failure_is_logged_with_user_and_address_never_password(
        tmp_path):
    """A failed login logs the user and the address, and never the
    password tried."""
    checker, clock, events = makeChecker(tmp_path, ['ann:secret'])
    attempt(checker, 'mallory', 'hunter2', '10.6.6.6')
    event, = events
    assert (event['user'], event['address'], event['failures']) == (
        'mallory', '10.6.6.6', 1)
    assert 'hunter2' not in repr(event)


def test_failures_slow_the_next_attempts_of_their_address_and_user(
        tmp_path):
    """After a failure, the next attempt from that address is decided only
    ``delay`` seconds later, then 2, 4, ... times that, at most
    ``MAX_FACTOR`` times; another user at another address is answered at
    once, and so are credentials that succeeded before, whatever the
    guessing. The user name guessed waits as long from any other address
    (issue 20, 14: more addresses buy no more guesses)."""
    checker, clock, events = makeChecker(tmp_path, ['ann:secret',
                                                    'bob:pw'])
    assert attempt(checker, 'ann', 'secret', '10.0.0.9') == [('ok', b'ann')]
    assert attempt(checker, 'ann', 'guess0') == [('refused',)]
    for failures in range(1, 9):
        wait = DELAY * min(MAX_FACTOR, 2 ** (failures - 1))
        outcome = attempt(checker, 'ann', f'guess{failures}')
        clock.advance(wait - 0.01)
        assert outcome == []
        assert attempt(checker, 'bob', 'pw', '10.0.0.2') == [('ok', b'bob')]
        assert attempt(checker, 'ann', 'secret', '10.0.0.9') == [
            ('ok', b'ann')]
        clock.advance(0.01)
        assert outcome == [('refused',)]
    assert events[-1]['wait'] == DELAY * MAX_FACTOR
    elsewhere = attempt(checker, 'ann', 'guess', '10.1.0.1')
    clock.advance(DELAY * MAX_FACTOR - 0.01)
    assert elsewhere == []
    clock.advance(0.01)
    assert elsewhere == [('refused',)]


def test_names_the_file_does_not_know_share_one_record(tmp_path):
    """Failures for user names the users file does not know are counted
    together, so that trying many names costs as much as trying one, and
    the records are bounded by the users; a known user is not slowed by
    them."""
    checker, clock, _ = makeChecker(tmp_path, ['ann:secret'])
    for n in range(3):
        clock.advance(DELAY * 4)
        attempt(checker, f'nobody{n}', 'x', f'10.2.0.{n}')
    assert list(checker.throttle.names) == [logins.UNKNOWN]
    assert checker.throttle.names[logins.UNKNOWN].failures == 3
    assert attempt(checker, 'nobody9', 'x', '10.2.0.9') == []
    assert attempt(checker, 'ann', 'secret', '10.2.0.8') == [('ok', b'ann')]


def test_parallel_attempts_from_one_address_are_checked_one_at_a_time(
        tmp_path):
    """More connections buy no more guesses: after a failure, attempts
    sent at once from the same address are decided one after another,
    each waiting what the previous failure earned; a right password, in
    its turn, succeeds and forgives the address."""
    checker, clock, _ = makeChecker(tmp_path, ['ann:secret'])
    attempt(checker, 'ann', 'wrong')
    outcomes = [attempt(checker, 'ann', f'wrong{n}') for n in range(3)]
    right = attempt(checker, 'ann', 'secret')
    decided = []
    for second in range(1, 16):
        clock.advance(1)
        decided.append(sum(1 for outcome in outcomes + [right] if outcome))
    # Waits of 1, 2, 4 and 8 s after the failures before them.
    assert decided[0] == 1 and decided[2] == 2 and decided[6] == 3
    assert decided[13] == 3 and decided[14] == 4
    assert right == [('ok', b'ann')]
    assert attempt(checker, 'ann', 'wrong') == [('refused',)]


def test_an_address_is_forgiven_after_a_success_or_a_quiet_while(tmp_path):
    """A success ends the waits of its address; so do fifteen minutes
    without a failure."""
    checker, clock, _ = makeChecker(tmp_path, ['ann:secret'])
    for _ in range(3):
        attempt(checker, 'ann', 'wrong')
    clock.pump([1] * 5)
    assert checker.throttle.records['10.0.0.1'].failures == 3
    clock.advance(logins.FORGET_AFTER + 1)
    assert attempt(checker, 'ann', 'wrong') == [('refused',)]
    pending = attempt(checker, 'ann', 'secret')
    clock.advance(DELAY)
    assert pending == [('ok', b'ann')]
    assert attempt(checker, 'ann', 'wrong') == [('refused',)]


def test_no_delay_still_logs_and_the_table_of_addresses_is_bounded(
        tmp_path, monkeypatch):
    """``--login-delay 0`` answers at once but still logs each failure;
    at most ``MAX_ADDRESSES`` addresses are remembered."""
    monkeypatch.setattr(logins, 'MAX_ADDRESSES', 5)
    checker, clock, events = makeChecker(tmp_path, ['ann:secret'], delay=0)
    for n in range(20):
        assert attempt(checker, 'ann', 'wrong', f'10.0.0.{n}') == [
            ('refused',)]
        assert attempt(checker, 'ann', 'wrong', f'10.0.0.{n}') == [
            ('refused',)]
    assert len(events) == 40
    assert list(checker.throttle.records) == [f'10.0.0.{n}'
                                              for n in range(15, 20)]
