"""The quick reader of the usual request (``remotetask.wire.quickread``):
what it reads, it reads as ``unmarshal``'s reader does; what it is not
sure of, it leaves to that reader, whose readings and errors stay the
only ones a client meets."""

import datetime
import xmlrpc.client

import pytest

from remotetask.wire import quickread
from remotetask.wire.quickread import quickRequest
from remotetask.wire.unmarshal import parseRequest, readRequest

#: Values the quick reader takes (every type but double and dateTime).
TAKEN = [
    0, -7, 2 ** 31 - 1, -2 ** 31, True, False, None, '', 'plain',
    'a & b < c > d "e" \'f\'', 'é€😀', 'line\nfeed\ttab', 'cr\rhere\r\n',
    'x' * 100000, [], {}, [1, ['two', [None]]],
    {'a': {'b': [None, {'c': ''}]}, '': 1, 'same': 1},
    b'\x00\xffbytes', b'',
    [{'methodName': 'add', 'params': ['echo', {'i': k}]} for k in range(50)],
]


def _body(*params, name='add'):
    return xmlrpc.client.dumps(params, name, allow_none=True).encode()


@pytest.mark.parametrize('value', TAKEN)
def test_a_usual_request_is_read_as_the_full_reader_reads_it(value):
    """A request holding ``value`` (nesting, entities, text beyond ASCII,
    carriage returns, wide ints, every type it takes) is read quickly,
    and exactly as ``readRequest`` reads it, sendable flag included."""
    body = _body(value, 'after')
    quick = quickRequest(body)
    assert quick is not None
    assert quick == readRequest(body)


@pytest.mark.parametrize('body', [
    # Written by hand, as other clients write them.
    b'<methodCall><methodName>m</methodName></methodCall>',
    b'<methodCall><methodName></methodName><params/></methodCall>',
    b'<?xml version="1.0" encoding="UTF-8"?><methodCall><methodName>m'
    b'</methodName><params><param><value> spaced &amp; &#233; </value>'
    b'</param><param><value>\n<string>kept</string>\n</value></param>'
    b'<param><value><boolean> TRUE </boolean></value></param>'
    b'<param><value><int> 7 </int></value></param>'
    b'<param><value><base64>AAEC\nAwQ=</base64></value></param>'
    b'<param><value><struct><member><name>k</name><value>1</value>'
    b'</member><member><name>k</name><value><nil/></value></member>'
    b'</struct></value></param></params></methodCall>',
    b'<methodCall><methodName>m</methodName><params><param><value><i8>'
    b'5000000000</i8></value></param><param><value><int>-9223372036854775808'
    b'</int></value></param></params></methodCall>',
])
def test_hand_written_requests_read_alike(body):
    """Untyped values (their whitespace kept), whitespace around a typed
    one, booleans and ints with spaces, base64 over lines, a member
    named twice (the last wins), no params at all, ints over 32 bits
    (not sendable): read quickly, and as the full reader reads them."""
    quick = quickRequest(body)
    assert quick is not None
    assert quick == readRequest(body)


@pytest.mark.parametrize('body', [
    # A double and a dateTime: read by the full reader.
    _body(1.5), _body(datetime.datetime(2026, 12, 6, 19, 0, 1)),
    # What the two parsers might read differently, or the full refuses.
    b'<?xml version="1.0"?><!DOCTYPE x [<!ENTITY e "v">]><methodCall>'
    b'<methodName>&e;</methodName></methodCall>',
    b'<methodCall><methodName>m<!-- c --></methodName></methodCall>',
    b'<methodCall><methodName><![CDATA[m]]></methodName></methodCall>',
    b'<methodCall><?pi x?><methodName>m</methodName></methodCall>',
    '<?xml version="1.0" encoding="utf-16"?><methodCall><methodName>m'
    '</methodName></methodCall>'.encode('utf-16'),
    b'<?xml version="1.0" encoding="iso-8859-1"?><methodCall><methodName>'
    b'm\xe9</methodName></methodCall>',
    # Namespaced types (Apache's), in a namespace or without one.
    b'<methodCall><methodName>m</methodName><params><param><value>'
    b'<ex:nil/></value></param></params></methodCall>',
    b'<methodCall xmlns:ex="urn:x"><methodName>m</methodName><params>'
    b'<param><value><ex:nil/></value></param></params></methodCall>',
    # Elements out of their places, or unknown.
    b'<methodCall><methodName>m</methodName><params><param><extra/><value>'
    b'1</value></param></params></methodCall>',
    b'<methodCall><methodName>m</methodName><params><param><value>'
    b'<bogus>1</bogus></value></param></params></methodCall>',
    b'<methodCall><methodName>m</methodName><params><param><value><struct>'
    b'<member><value>1</value><name>k</name></member></struct></value>'
    b'</param></params></methodCall>',
    b'<methodCall><methodName>m</methodName><params><param><value><array>'
    b'<value>1</value></array></value></param></params></methodCall>',
    # Children that are too few or too many (read as lists, not counted).
    b'<methodCall><methodName>m</methodName><params><param><value><struct>'
    b'<member><name>k</name></member></struct></value></param></params>'
    b'</methodCall>',
    b'<methodCall><methodName>m</methodName><params><param><value><struct>'
    b'<member><name>k</name><value>1</value><value>2</value></member>'
    b'</struct></value></param></params></methodCall>',
    b'<methodCall><methodName>m</methodName><params><param><value><array>'
    b'</array></value></param></params></methodCall>',
    b'<methodCall><methodName>m</methodName><params><param><value><array>'
    b'<data/><data/></array></value></param></params></methodCall>',
    b'<methodCall><methodName>m</methodName><params><param><value>'
    b'<string>a</string><string>b</string></value></param></params>'
    b'</methodCall>',
    b'<methodCall><params/><methodName>m</methodName></methodCall>',
    b'<methodResponse><params/></methodResponse>',
    # Wrong values, and documents that are not well formed.
    b'<methodCall><methodName>m</methodName><params><param><value><int>'
    b'seven</int></value></param></params></methodCall>',
    b'<methodCall><methodName>m</methodName><params><param><value>'
    b'<boolean>yes</boolean></value></param></params></methodCall>',
    b'<methodCall><methodName>m</methodName><params><param><value><base64>'
    b'!!!*</base64></value></param></params></methodCall>',
    b'<methodCall><methodName>m&#1;</methodName></methodCall>',
    b'<methodCall><methodName>m</methodName>',
])
def test_what_it_is_not_sure_of_is_left_to_the_full_reader(body):
    """Doubles and dateTimes, DOCTYPEs, comments, CDATA, processing
    instructions, other encodings, namespaced or misplaced elements,
    malformed values and documents: the quick reader leaves each to the
    full one (so parseRequest answers as that one does, error or not)."""
    assert quickRequest(body) is None
    try:
        expected = readRequest(body)
    except Exception as error:
        with pytest.raises(type(error)) as raised:
            parseRequest(body)
        assert str(raised.value) == str(error)
    else:
        assert parseRequest(body) == expected


def test_deep_nesting_is_left_to_the_full_reader():
    """A value nested deeper than Python recurses is read by the full
    reader, which does not recurse, rather than failing."""
    depth = 5000
    body = (b'<methodCall><methodName>m</methodName><params><param>'
            + b'<value><array><data>' * depth + b'<value>x</value>'
            + b'</data></array></value>' * depth
            + b'</param></params></methodCall>')
    assert quickRequest(body) is None
    params, name, sendable = parseRequest(body)
    assert name == 'm' and sendable


def test_a_body_over_its_bound_is_left_to_the_full_reader(monkeypatch):
    """A body over QUICK_MAX bytes (whose tree would take ten times its
    size) is read by the full reader; one at the bound, quickly."""
    body = _body([{'methodName': 'add', 'params': ['echo', {'i': k}]}
                  for k in range(20)], name='system.multicall')
    monkeypatch.setattr(quickread, 'QUICK_MAX', len(body))
    assert quickRequest(body) == readRequest(body)
    monkeypatch.setattr(quickread, 'QUICK_MAX', len(body) - 1)
    assert quickRequest(body) is None
    assert parseRequest(body) == readRequest(body)
