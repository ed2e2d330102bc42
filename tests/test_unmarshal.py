"""Reading requests (``remotetask.wire.unmarshal``) where it keeps the
stdlib's readings: whatever the stdlib reads right, ``parseRequest``
reads alike, however the parser splits the text it hands over."""

import datetime
import xmlrpc.client

import pytest

from remotetask.wire.unmarshal import parseRequest

VALUES = [
    0, -7, 2 ** 31 - 1, 1.5, True, False, None, '', 'plain',
    'a & b < c > d "e" \'f\'', 'é€😀', 'line\nfeed\ttab',
    'x' * 100000, 'é' * 40000 + '&' * 3000,
    [], {}, [1, ['two', [3.0]]], {'a': {'b': [None, {'c': ''}]}, '': 1},
    datetime.datetime(2026, 12, 6, 19, 0, 1), b'\x00\xffbytes',
    [{'methodName': 'add', 'params': ['echo', {'i': k}]} for k in range(50)],
]


@pytest.mark.parametrize('value', VALUES)
def test_what_the_stdlib_reads_is_read_alike(value):
    """A call carrying ``value`` (text long enough to reach the parser in
    several pieces, entities in it, nesting, every type) reads as the
    stdlib reads it, and is sendable."""
    body = xmlrpc.client.dumps((value, 'after'), 'add',
                               allow_none=True).encode()
    expected = xmlrpc.client.loads(body, use_builtin_types=True)
    params, name, sendable = parseRequest(body, 'text/xml')
    assert (params, name) == expected
    assert sendable


def test_namespaced_tags_and_untyped_values_read_as_the_stdlib_reads_them():
    """Apache's ``ex:`` prefixed types are read by their names, a value
    without a type is a string (its whitespace kept), and elements the
    reader does not know outside a value are passed over."""
    body = (b'<?xml version="1.0"?><methodCall><methodName>add</methodName>'
            b'<params><param><value><ex:i8>5000000000</ex:i8></value>'
            b'</param><param><value><ex:nil/></value></param>'
            b'<param><value> spaced &amp; text </value></param>'
            b'<param><extra/><value><array><data><value><i4>3</i4></value>'
            b'</data></array></value></param></params></methodCall>')
    params, name, sendable = parseRequest(body)
    assert name == 'add'
    assert params == (5000000000, None, ' spaced & text ', [3])
    assert not sendable  # an int over 32 bits cannot be sent back


def test_an_unknown_tag_inside_a_value_is_refused():
    """An element the reader does not know, inside a value, is an error
    (as the stdlib's), not a value read as something else."""
    body = (b'<?xml version="1.0"?><methodCall><methodName>add'
            b'</methodName><params><param><value><bogus>1</bogus></value>'
            b'</param></params></methodCall>')
    with pytest.raises(xmlrpc.client.ResponseError, match="'bogus'"):
        parseRequest(body)
