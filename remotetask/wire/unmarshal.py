"""Reading XML-RPC requests as the clients in use write them.

The stdlib reader (``xmlrpc.client``) is kept for everything it reads
right, and changed where clients differ from it or from the spec:

* ``dateTime.iso8601``: besides the spec's ``19980717T14:08:55``, the
  ISO 8601 forms clients send: ``1998-07-17T14:08:55Z`` and
  ``1998-07-17T14:08:55.000Z`` (davexmlrpc, @foxglove/xmlrpc),
  ``19980717T140855`` (aXMLRPC), with or without a zone. A value with a
  zone is turned into UTC; every dateTime is naive, as XML-RPC's are.
* ``boolean``: ``1``/``0`` with surrounding whitespace (as ``<int> 7
  </int>`` always was), and ``true``/``false`` (davexmlrpc).
* ``double``: NaN and infinity are refused (XML-RPC has no such values,
  and the answer carrying them back would be unreadable to most clients);
  so is anything that is not a decimal number.
* ``int``, ``i8``: an integer over 32 bits is read, as the stdlib reads it
  (a method may take one, as an id it then finds no job for), and noted:
  a request without one holds only values XML-RPC can send back (text
  from an XML parser holds no character XML cannot carry, and doubles
  are finite), so ``checkInput`` need not walk its inputs again.
* ``base64``: only base64 (``!!!*`` was read as empty bytes).
* No DOCTYPE: XML-RPC has no DTD, and one only brings entities (an
  external one was read as ``""``, and stored).
* A malformed ``int`` is refused naming the parameter it is in.
* The body's encoding: its XML declaration, else its byte order mark,
  else the ``charset`` of its Content-Type, else UTF-8. A body declared
  ``us-ascii`` that is not ASCII but is valid UTF-8 (RPC::XML sends such)
  is read as UTF-8.

Every error is an exception whose text says what was wrong; the resource
answers it with fault 3.
"""

import base64
import binascii
import codecs
import datetime
import math
import re
import xmlrpc.client
from email.message import Message
from xml.parsers import expat

from remotetask.wire.quickread import quickRequest

_DATETIME = re.compile(
    r'(\d{4})-?(\d\d)-?(\d\d)T(\d\d):?(\d\d):?(\d\d)(?:[.,](\d{1,9}))?'
    r'(Z|[+-]\d\d(?::?\d\d)?)?')
_DOUBLE = re.compile(r'[+-]?(?:\d+\.?\d*|\.\d+)(?:[eE][+-]?\d+)?')
_NOT_FINITE = ('nan', 'inf', 'infinity')
_DECLARATION = re.compile(rb'<\?xml[^>]*\?>')
_ENCODING = re.compile(rb'''encoding\s*=\s*["']([A-Za-z0-9._-]+)["']''')
_BOMS = (codecs.BOM_UTF8, codecs.BOM_UTF16_LE, codecs.BOM_UTF16_BE)


def parseDateTime(text):
    """The naive datetime an ISO 8601 ``text`` names (in UTC when it has
    a zone); ``ValueError`` if it is none of the forms clients send."""
    found = _DATETIME.fullmatch(text.strip())
    if found is None:
        raise ValueError(f'{text.strip()[:40]!r} is not an ISO 8601 '
                         'dateTime (e.g. 19980717T14:08:55)')
    year, month, day, hour, minute, second, fraction, zone = found.groups()
    moment = datetime.datetime(
        int(year), int(month), int(day), int(hour), int(minute),
        int(second), int((fraction or '0').ljust(6, '0')[:6]))
    if zone and zone != 'Z':
        sign = -1 if zone[0] == '-' else 1
        digits = zone[1:].replace(':', '').ljust(4, '0')
        offset = datetime.timedelta(hours=int(digits[:2]),
                                    minutes=int(digits[2:]))
        moment -= sign * offset
    return moment


def parseDouble(text):
    text = text.strip()
    if text.lower().lstrip('+-') in _NOT_FINITE:
        raise ValueError(f'<double> {text} is not a number XML-RPC can '
                         'carry: NaN and infinity are not allowed')
    if not _DOUBLE.fullmatch(text):
        raise ValueError(f'<double> {text[:40]!r} is not a decimal number')
    value = float(text)
    if not math.isfinite(value):
        raise ValueError(f'<double> {text[:40]} is too large for a double '
                         '(infinity is not allowed)')
    return value


class RequestUnmarshaller(xmlrpc.client.Unmarshaller):
    """The stdlib's unmarshaller, with the readings above. ``wide``: an
    integer over 32 bits was read."""

    dispatch = dict(xmlrpc.client.Unmarshaller.dispatch)
    wide = False

    # The stdlib's start, data and end, made cheaper for the parser to
    # call (a multicall of 500 adds makes some 30,000 calls): the text of
    # an element gathers in one list, cleared at each start, whose own
    # append the parser calls (``parse``); end finds its handler without
    # raising KeyError for the tags that have none (member, data, param).

    def start(self, tag, attrs):
        if ':' in tag:
            tag = tag.split(':')[-1]
        if tag == 'array' or tag == 'struct':
            self._marks.append(len(self._stack))
        self._data.clear()
        if self._value and tag not in self.dispatch:
            raise xmlrpc.client.ResponseError(f'unknown tag {tag!r}')
        self._value = tag == 'value'

    def end(self, tag):
        handler = self.dispatch.get(tag)
        if handler is not None:
            return handler(self, ''.join(self._data))
        if ':' in tag:
            return super().end(tag)
        return None

    def end_int(self, data):
        try:
            value = int(data)
        except ValueError:
            raise ValueError(f'<int> {data.strip()[:40]!r} in {self._where()} '
                             'is not an integer') from None
        if not xmlrpc.client.MININT <= value <= xmlrpc.client.MAXINT:
            self.wide = True
        self.append(value)
        self._value = 0

    for name in ('i1', 'i2', 'i4', 'i8', 'int', 'biginteger'):
        dispatch[name] = end_int
    del name

    def _where(self):
        """Which parameter the value being read is in, for a message."""
        marks = self._marks
        return f'parameter {(marks[0] if marks else len(self._stack)) + 1}'

    def end_base64(self, data):
        try:
            value = base64.b64decode(''.join(data.split()), validate=True)
        except binascii.Error as error:
            raise ValueError(f'<base64> in {self._where()} is not base64 '
                             f'({error})') from None
        self.append(value)
        self._value = 0

    dispatch['base64'] = end_base64

    def end_boolean(self, data):
        value = data.strip().lower()
        if value in ('1', 'true'):
            self.append(True)
        elif value in ('0', 'false'):
            self.append(False)
        else:
            raise TypeError(f'bad boolean value {data[:40]!r}')
        self._value = 0

    dispatch['boolean'] = end_boolean

    def end_double(self, data):
        self.append(parseDouble(data))
        self._value = 0

    dispatch['double'] = end_double
    dispatch['float'] = end_double

    def end_dateTime(self, data):
        self.append(parseDateTime(data))
        self._value = 0

    dispatch['dateTime.iso8601'] = end_dateTime


def charsetOf(contentType):
    """The ``charset`` parameter of a Content-Type header, or None."""
    if not contentType:
        return None
    message = Message()
    message['content-type'] = contentType
    return message.get_content_charset()


def _asDeclared(body, contentType):
    """``body`` as bytes expat reads right (see the module docstring)."""
    declaration = _DECLARATION.match(body)
    if declaration:
        encoding = _ENCODING.search(declaration.group())
        if (encoding and encoding.group(1).lower() in (b'us-ascii', b'ascii')
                and not body.isascii()):
            try:
                body.decode('utf-8')
            except UnicodeDecodeError:
                return body  # expat says where it is not ASCII
            return b'<?xml version="1.0"?>' + body[declaration.end():]
        return body
    charset = charsetOf(contentType)
    if charset is None or body.startswith(_BOMS) or codecs.lookup(
            charset).name == 'utf-8':
        return body
    try:
        text = body.decode(charset)
    except LookupError:
        raise ValueError(f'unknown charset {charset!r}') from None
    except UnicodeDecodeError as error:
        raise ValueError(f'the body is not {charset}: {error}') from None
    # A UTF-16 body without a byte order mark may declare itself.
    text = re.sub(r'^<\?xml[^>]*\?>', '', text)
    return text.encode('utf-8')


def _noDoctype(*args):
    # XML-RPC has no DTD: one only brings entities, which expat would
    # expand (internal ones) or silently drop (external ones).
    raise ValueError('a DOCTYPE is not allowed in XML-RPC (no entities, '
                     'no DTD)')


def parseRequest(body, contentType=None):
    """``(params, methodName, sendable)`` of the methodCall in ``body``
    (bytes), sent with the Content-Type ``contentType``; ``sendable``:
    every value in it is one XML-RPC can send back (``checkInput`` would
    pass every one). The usual request is read by ``quickread``, at about
    half the cost; whatever that reader leaves, by ``readRequest``."""
    try:
        body = _asDeclared(body, contentType)
    except LookupError:
        raise ValueError(f'unknown charset {charsetOf(contentType)!r}') \
            from None
    quick = quickRequest(body)
    if quick is not None:
        return quick
    return readRequest(body)


def readRequest(body):
    """``parseRequest``'s reading of ``body`` (bytes expat reads right),
    by the stdlib's reader with the changes above: any request, and the
    one reading of those ``quickread`` leaves (its errors are the ones a
    client sees)."""
    target = RequestUnmarshaller(use_datetime=True, use_builtin_types=True)
    # The stdlib's ExpatParser, but for the text handler (see start).
    parser = expat.ParserCreate(None, None)
    parser.StartElementHandler = target.start
    parser.EndElementHandler = target.end
    parser.CharacterDataHandler = target._data.append
    parser.StartDoctypeDeclHandler = _noDoctype
    target.xml(None, None)
    try:
        parser.Parse(body, False)
        parser.Parse(b'', True)
    except expat.ExpatError as error:
        raise ValueError(_unwritable(body, error) or error) from None
    return target.close(), target.getmethodname(), not target.wide


#: A character XML 1.0 cannot hold, raw or as a character reference.
_UNWRITABLE = re.compile(
    rb'[\x00-\x08\x0b\x0c\x0e-\x1f]|&#(?:0*(?:[0-8]|1[124-9]|2\d|3[01])'
    rb'|[xX]0*(?:[0-8bBcCeEfF]|1[0-9a-fA-F]));')


_CHARACTER_ERRORS = {expat.errors.codes[message] for message in (
    expat.errors.XML_ERROR_INVALID_TOKEN, expat.errors.XML_ERROR_BAD_CHAR_REF)}


def _unwritable(body, error):
    """What expat's "not well-formed (invalid token): line 9, column 16"
    means when it is a control character in a string: which parameter
    (and member) holds which character, in terms of the call the client
    made rather than XML it never saw; None for another mistake."""
    if error.code not in _CHARACTER_ERRORS or body.startswith(_BOMS[1:]):
        return None  # another mistake; or UTF-16, where NUL is no sign
    line = body.split(b'\n')[error.lineno - 1:error.lineno] or [b'']
    found = _UNWRITABLE.search(line[0])
    if found is None:
        return None
    text = found[0].decode('ascii')
    number = (ord(text) if len(text) == 1 else
              int(text[3:-1], 16) if text[2] in 'xX' else int(text[2:-1]))
    before = b'\n'.join(body.split(b'\n')[:error.lineno - 1] +
                        [line[0][:found.start()]])
    members = []  # the names of the structs' members it is inside
    for tag in re.finditer(rb'<(/?)member>|<name>([^<]{0,100})</name>',
                           before):
        if tag[2] is not None:
            members[-1:] = [tag[2].decode('utf-8', 'replace')]
        elif tag[1]:
            members[-1:] = []
        else:
            members.append(None)
    member = f', member {members[-1]!r},' if members else ''
    return (f'parameter {before.count(b"<param>")}{member} holds the '
            f'character U+{number:04X} (line {error.lineno}), which XML '
            'cannot carry; send such text as base64')
