"""Which notify URLs an allowed prefix holds, and when a failed call is
tried again."""

import pytest

from remotetask.core import notifying
from remotetask.errors import InvalidArgument


@pytest.mark.parametrize('prefix, url, allowed', [
    ('http://hooks.example', 'http://hooks.example/a/b?c=1', True),
    ('http://hooks.example', 'http://HOOKS.example/', True),
    ('http://hooks.example', 'http://hooks.example.evil.org/', False),
    ('http://hooks.example', 'http://hooks.example@evil.org/', False),
    ('http://hooks.example', 'https://hooks.example/', False),
    ('http://hooks.example', 'http://hooks.example:8080/', False),
    ('http://hooks.example:8080/cb', 'http://hooks.example:8080/cb', True),
    ('http://hooks.example:8080/cb', 'http://hooks.example:8080/cb/1', True),
    ('http://hooks.example:8080/cb', 'http://hooks.example:8080/cbx', False),
    ('http://hooks.example:8080/cb/', 'http://hooks.example:8080/cb/x',
     True),
    ('http://hooks.example', 'javascript:alert(1)', False),
    ('http://hooks.example', 'http://u:p@hooks.example/', False),
    ('http://hooks.example', 'http://hooks.example:x/', False),
])
def test_a_prefix_is_matched_on_the_parts_of_the_url(prefix, url, allowed):
    """Scheme, host and port must be those of the prefix; the path must
    be the prefix's or below it; credentials are never allowed."""
    assert notifying.allowed(url, [notifying.parsePrefix(prefix)]) == \
        allowed


@pytest.mark.parametrize('text', ['127.0.0.1:9000', 'ftp://host/',
                                  'http://u@host/', 'http://host/?q=1'])
def test_what_cannot_be_a_prefix_is_refused(text):
    """A prefix is an http(s) URL without credentials, query or
    fragment."""
    with pytest.raises(ValueError, match='cannot be a prefix'):
        notifying.parsePrefix(text)


def test_the_wait_doubles_up_to_its_cap_and_stops_at_the_retry_time():
    """1, 2, 4 s ... up to MAX_BACKOFF; never past the retry time, and
    nothing at or after it."""
    assert [notifying.nextDue(n, 0.0, 0.0, 1e9) for n in (1, 2, 3)] == [
        1.0, 2.0, 4.0]
    assert notifying.nextDue(30, 0.0, 0.0, 1e9) == notifying.MAX_BACKOFF
    assert notifying.nextDue(5, 0.0, 95.0, 100.0) == 100.0
    assert notifying.nextDue(5, 0.0, 100.0, 100.0) is None


@pytest.mark.parametrize('path', [
    '../admin', '%2e%2e/admin', '%2E%2e%2Fadmin', '.%2e/x', './x',
    'a/..', '..%5cadmin', 'a\\..\\b'])
def test_dot_segments_are_refused_before_the_prefix_is_matched(path):
    """A dot-segment in a notify URL's path, plain or percent-encoded (a
    slash or backslash encoded too), is refused with fault 3 even under
    an allowed prefix: the receiver may resolve it outside the prefix."""
    prefixes = [notifying.parsePrefix('http://127.0.0.1:9/hooks/')]
    with pytest.raises(InvalidArgument, match=r'"\." or "\.\." segment'):
        notifying.checkURL(f'http://127.0.0.1:9/hooks/{path}', prefixes)


@pytest.mark.parametrize('path', ['v1.2/x', '..a/b.', '.well-known',
                                  'x?next=../y', 'x#..'])
def test_dots_within_words_or_outside_the_path_are_taken(path):
    """Dots inside a segment, and dot-segments in the query or fragment,
    do not change the path a server resolves: such URLs are taken."""
    prefixes = [notifying.parsePrefix('http://127.0.0.1:9/hooks/')]
    url = f'http://127.0.0.1:9/hooks/{path}'
    assert notifying.checkURL(url, prefixes) == url


@pytest.mark.parametrize('bad', ['\x1b', '\r', '\n', '\x00', '\x7f', ' ',
                                 '\ud800', '\xe9'])
def test_a_url_holds_printable_ascii_only(bad):
    """Control characters, spaces and non-ASCII text in a notify URL are
    refused with fault 3, a character that is not printable named as an
    escape."""
    prefixes = [notifying.parsePrefix('http://127.0.0.1:9/hooks/')]
    with pytest.raises(InvalidArgument, match='printable ASCII') as refused:
        notifying.checkURL(f'http://127.0.0.1:9/hooks/a{bad}b', prefixes)
    assert bad.isprintable() or bad not in str(refused.value)
