"""The Host check's reading of a Host header (``site.hostName``)."""

import pytest

from remotetask.wire import site
from remotetask.wire.site import REMEMBERED_HOST, hostName


@pytest.mark.parametrize('header, name', [
    (b'127.0.0.1:8770', '127.0.0.1'), (b'LocalHost.', 'localhost'),
    (b'[::ffff:127.0.0.1]:8770', '127.0.0.1'), (b'[::1]', '::1'),
    (b'::1', '::1'), (b' Tasks.Example:80 ', 'tasks.example'),
    (b'127.000.0.1', '127.000.0.1'), (b'\xe9vil.example', '\xe9vil.example'),
])
def test_a_host_reads_as_its_name_every_time(header, name):
    """Port, brackets, case and a trailing dot are taken off and an
    address is put in its normal form, the same at every request (the
    answer is remembered)."""
    assert [hostName(header) for _ in range(3)] == [name] * 3


def test_a_long_host_is_read_alike_but_not_remembered():
    """A header longer than any host name is read as a short one is, and
    is not kept: what is remembered stays small whatever is sent."""
    remembered = site._rememberedHostName.cache_info
    label = b'a' * (REMEMBERED_HOST + 1)
    before = remembered()
    assert hostName(label + b':80') == label.decode()
    assert hostName(b'[::ffff:127.0.0.1]' + b' ' * REMEMBERED_HOST) == \
        '127.0.0.1'
    assert remembered() == before
    hostName(b'short.example')
    assert remembered().currsize == min(before.currsize + 1,
                                        before.maxsize)
