"""Which notify URLs an allowed prefix holds, and when a failed call is
tried again."""

import pytest

from remotetask.core import notifying


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
