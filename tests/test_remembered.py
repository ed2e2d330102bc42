"""Logins remembered for a moment (``remotetask.wire.remembered``): a
header that just logged in skips the guard for ``REMEMBER`` seconds, and
nothing else does. Time is a ``task.Clock``."""

from twisted.internet import task
from twisted.web.test.requesthelper import DummyRequest

from remotetask.core.permissions import Principal
from remotetask.wire.remembered import REMEMBER, Logins, RememberedLogins

SHOP = Principal('shop', 'caller', ['echo'])


class Marker:
    """A resource that says which way a request went."""

    def __init__(self, name):
        self.name = name

    def getChildWithDefault(self, path, request):
        return self.name

    def render(self, request):
        return self.name


def requestWith(header):
    request = DummyRequest([b''])
    if header is not None:
        request.requestHeaders.setRawHeaders(b'authorization', [header])
    return request


def test_a_header_that_logged_in_skips_the_guard_for_a_moment():
    """After a login, the same header goes to the tree as the same
    principal until REMEMBER seconds have passed; then through the
    guard."""
    clock = task.Clock()
    logins = Logins(clock)
    wrapper = RememberedLogins(Marker('guard'), Marker('tree'), logins)
    request = requestWith(b'Basic c2hvcDpwdw==')
    assert wrapper.getChildWithDefault(b'', request) == 'guard'
    logins.remember(request, SHOP)
    again = requestWith(b'Basic c2hvcDpwdw==')
    assert wrapper.getChildWithDefault(b'', again) == 'tree'
    assert again.principal == SHOP
    assert wrapper.render(requestWith(b'Basic c2hvcDpwdw==')) == 'tree'
    clock.advance(REMEMBER)
    assert wrapper.render(requestWith(b'Basic c2hvcDpwdw==')) == 'guard'


def test_other_headers_and_none_go_through_the_guard():
    """Another header (a wrong password), or none, is never let through
    on the strength of a remembered one; the header is not kept."""
    logins = Logins(task.Clock())
    wrapper = RememberedLogins(Marker('guard'), Marker('tree'), logins)
    logins.remember(requestWith(b'Basic c2hvcDpwdw=='), SHOP)
    assert wrapper.render(requestWith(b'Basic c2hvcDp4')) == 'guard'
    assert wrapper.render(requestWith(None)) == 'guard'
    assert not any(b'c2hvcDpwdw' in digest for digest in logins._known)
