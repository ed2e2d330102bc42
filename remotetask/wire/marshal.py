"""What XML-RPC can carry, and the bytes of an answer.

A client must never get a document it cannot read: an answer XML-RPC cannot
carry (an int over 32 bits, a character XML forbids) is refused before it
is sent, and an input that could not be sent back is refused at the door.

An answer is written in chunks of bytes (``Encoded``), counted as they are
written: past a limit, writing stops with ``AnswerTooLarge``, so that no
answer costs more memory than the limit allows however large the value.
A value written elsewhere (a store thread) travels as ``Encoded`` and is
inlined as it is.
"""

import decimal
import math
import re
import reprlib
import xmlrpc.client

from twisted.web.xmlrpc import Fault

from remotetask.core.codec import describePath
from remotetask.errors import AnswerTooLarge, InvalidArgument

# Characters XML 1.0 cannot carry, not even as character references; a
# string holding one would make the whole answer unreadable to the client.
NOT_XML = re.compile('[\x00-\x08\x0b\x0c\x0e-\x1f\ud800-\udfff\ufffe\uffff]')

_short = reprlib.Repr()
_short.maxlevel = 3
_short.maxstring = _short.maxother = _short.maxlong = 80


#: How many bytes of text are gathered before they are encoded into one
#: chunk (and how much one write hands the network, ``sending``).
CHUNK = 65536


class Encoded:
    """Text already written for the wire: ``chunks`` of bytes, ``size``
    bytes in all. Inside a value given to ``encodeAnswer`` or
    ``encodeValue`` it stands for the XML-RPC ``<value>`` it holds."""

    __slots__ = ('chunks', 'size')

    def __init__(self, chunks, size=None):
        self.chunks = chunks
        self.size = sum(map(len, chunks)) if size is None else size

    def __bytes__(self):
        return b''.join(self.chunks)

    def __repr__(self):
        return f'<Encoded {self.size} bytes>'


class _Writer:
    """Gathers the marshaller's text into chunks of UTF-8, refusing a
    character XML cannot carry (``ValueError``) and, past ``limit`` bytes,
    the whole answer (``AnswerTooLarge``)."""

    def __init__(self, limit=None):
        self.limit = limit
        self.chunks = []
        self.size = 0
        self._text = []
        self._length = 0

    def write(self, piece):
        if piece.__class__ is Encoded:
            self.flush()
            self._count(piece.size)
            self.chunks.extend(piece.chunks)
            return
        if len(piece) >= CHUNK:
            self.flush()  # so that a large string is not copied by a join
        self._text.append(piece)
        self._length += len(piece)
        if self._length >= CHUNK:
            self.flush()

    def flush(self):
        if not self._text:
            return
        # Every character is at least one byte: refuse before encoding.
        self._count(self._length, encoded=False)
        text = ''.join(self._text)
        self._text, self._length = [], 0
        bad = NOT_XML.search(text)
        if bad:
            raise ValueError(f'it holds the character {bad.group()!r}, '
                             'which XML cannot carry')
        # The marshaller writes no carriage return of its own: each one
        # here is inside a string, and sent as it is, the client's XML
        # parser would turn it into a line feed.
        data = text.replace('\r', '&#13;').encode('utf-8')
        self._count(len(data))
        self.chunks.append(data)

    def _count(self, size, encoded=True):
        if self.limit is not None and self.size + size > self.limit:
            raise AnswerTooLarge.over(self.limit)
        if encoded:
            self.size += size

    def done(self):
        self.flush()
        return Encoded(self.chunks, self.size)


def decimalText(value):
    """A finite double in digits only, as the XML-RPC spec writes them
    (Tcl's client reads no ``1e+300``): Python's shortest repr, its
    exponent spelled out, so that the value reads back exactly."""
    text = repr(value)
    if 'e' not in text:
        return text
    text = format(decimal.Decimal(text), 'f')
    return text if '.' in text else text + '.0'


class WireMarshaller(xmlrpc.client.Marshaller):
    """The stdlib's marshaller, refusing NaN and infinity: XML-RPC has no
    such doubles, and npm xmlrpc, RPC::XML and Apache XML-RPC cannot read
    an answer that holds one (a whole ``getJobs`` page would be lost);
    and writing ``Encoded`` values as they are."""

    dispatch = dict(xmlrpc.client.Marshaller.dispatch)

    def dump_double(self, value, write):
        if not math.isfinite(value):
            raise ValueError(f'it holds the double {value!r}; XML-RPC '
                             'carries neither NaN nor infinity')
        write('<value><double>')
        write(decimalText(value))
        write('</double></value>\n')

    dispatch[float] = dump_double

    def dump_encoded(self, value, write):
        write(value)

    dispatch[Encoded] = dump_encoded

    def dumpValue(self, value, write):
        """Write ``value`` as one ``<value>`` element."""
        try:
            dump = self.dispatch[type(value)]
        except KeyError:
            raise TypeError(f'cannot marshal {type(value).__name__} '
                            'objects') from None
        dump(self, value, write)


_ANSWER_HEAD = b"<?xml version='1.0'?>\n<methodResponse>\n<params>\n<param>\n"
_ANSWER_TAIL = b'</param>\n</params>\n</methodResponse>\n'
_ARRAY_HEAD = b'<value><array><data>\n'
_ARRAY_TAIL = b'</data></array></value>\n'


def _plainValue(value):
    """The ``<value>`` of an int of 32 bits, or of text with nothing to
    escape (printable ASCII, no ``&<>``), as bytes, the marshaller's to
    the byte; None for any other value.

    Most answers are these, alone or in an array (an add's id, a
    status, alone and in a multicall): written at once, at a fifth of
    the cost of a writer and a marshaller each (issue 18)."""
    kind = value.__class__
    if kind is int:
        if xmlrpc.client.MININT <= value <= xmlrpc.client.MAXINT:
            return b'<value><int>%d</int></value>\n' % value
    elif kind is str:
        if value.isascii() and value.isprintable() and not (
                '&' in value or '<' in value or '>' in value):
            return (b'<value><string>%s</string></value>\n'
                    % value.encode('ascii'))
    return None


def _written(data, limit):
    """``data`` as ``Encoded``, refused as a writer refuses it past
    ``limit``."""
    if limit is not None and len(data) > limit:
        raise AnswerTooLarge.over(limit)
    return Encoded([data], len(data))


def encodeAnswer(result, limit=None):
    """The methodResponse carrying ``result`` (a value, or a Fault), as
    ``Encoded``; ``AnswerTooLarge`` past ``limit`` bytes, and
    ``ValueError``, ``TypeError`` or ``OverflowError`` when XML-RPC cannot
    carry it, so that the client never gets a document it cannot read."""
    plain = _plainValue(result)
    if plain is not None:
        return _written(_ANSWER_HEAD + plain + _ANSWER_TAIL, limit)
    if result.__class__ is list and result and all(
            item.__class__ is Encoded for item in result):
        return _joined(result, limit)
    writer = _Writer(limit)
    write = writer.write
    marshaller = WireMarshaller('utf-8', allow_none=True)
    write("<?xml version='1.0'?>\n<methodResponse>\n")
    if isinstance(result, Fault):
        write('<fault>\n')
        marshaller.dumpValue({'faultCode': result.faultCode,
                              'faultString': result.faultString}, write)
        write('</fault>\n')
    else:
        write('<params>\n<param>\n')
        marshaller.dumpValue(result, write)
        write('</param>\n</params>\n')
    write('</methodResponse>\n')
    return writer.done()


def _joined(values, limit):
    """The methodResponse of an array of ``Encoded`` values (a
    multicall's answers, written call by call), as the marshaller would
    write it, without a marshaller's calls per value."""
    head, tail = _ANSWER_HEAD + _ARRAY_HEAD, _ARRAY_TAIL + _ANSWER_TAIL
    chunks = [head]
    size = len(head) + len(tail)
    for value in values:
        chunks += value.chunks
        size += value.size
    chunks.append(tail)
    if limit is not None and size > limit:
        raise AnswerTooLarge.over(limit)
    return Encoded(chunks, size)


def encodeValue(value, limit=None):
    """``value`` as one XML-RPC ``<value>``, ``Encoded``, to be inlined in
    an answer; raises as ``encodeAnswer`` does."""
    plain = _plainValue(value[0] if value.__class__ is list and
                        len(value) == 1 else value)
    if plain is not None:
        if value.__class__ is list:
            plain = _ARRAY_HEAD + plain + _ARRAY_TAIL
        return _written(plain, limit)
    writer = _Writer(limit)
    WireMarshaller('utf-8', allow_none=True).dumpValue(value, writer.write)
    return writer.done()


def wireAnswer(result):
    """The bytes of a methodResponse carrying ``result`` (a value, or a
    Fault); raises as ``encodeAnswer`` does.

    A carriage return in a string is sent as ``&#13;``: sent as it is, the
    client's XML parser would turn it into a line feed.
    """
    return bytes(encodeAnswer(result))


def checkWireValue(value, what='The result'):
    """Raise ``InvalidArgument`` if XML-RPC cannot carry ``value``.

    Every result is checked, in the worker that made it: most are plain
    (numbers, text, lists and dicts of them), and a walk of the value
    tells those at a fifth of the cost of writing the answer (issue 18).
    Anything else is written, as the answer would be, to find out."""
    if plainlyCarried(value):
        return
    try:
        wireAnswer(value)
    except (TypeError, OverflowError, ValueError, RecursionError) as error:
        raise InvalidArgument(
            f'{what} cannot be sent over XML-RPC: {error}.') from None


#: How deep ``plainlyCarried`` looks; deeper values are written out.
PLAIN_DEPTH = 32


def plainlyCarried(value):
    """Whether ``value`` is plainly one XML-RPC carries: None, bools, ints
    of 32 bits, finite doubles and text XML can carry, in lists, tuples
    and dicts with text keys, at most ``PLAIN_DEPTH`` deep, each list or
    dict met once. False says only that the walk cannot tell."""
    if value.__class__ is dict:
        flat = _flatlyCarried(value)
        if flat is not None:
            return flat
    stack, seen = [(value, 0)], set()
    while stack:
        item, depth = stack.pop()
        kind = item.__class__
        if kind is str:
            if NOT_XML.search(item):
                return False
        elif kind is int:
            if not xmlrpc.client.MININT <= item <= xmlrpc.client.MAXINT:
                return False
        elif kind is float:
            if not math.isfinite(item):
                return False
        elif kind is list or kind is tuple or kind is dict:
            if depth >= PLAIN_DEPTH or id(item) in seen:
                return False
            seen.add(id(item))
            if kind is dict:
                for key in item:
                    if key.__class__ is not str or NOT_XML.search(key):
                        return False
                item = item.values()
            stack.extend((entry, depth + 1) for entry in item)
        elif item is not None and kind is not bool:
            return False
    return True


def _flatlyCarried(value):
    """``plainlyCarried`` of a dict of text keys and scalar values (most
    results), without the walk's stack and set: a fifth of its cost; None
    when ``value`` holds anything else, for the walk to tell."""
    search = NOT_XML.search
    for key, item in value.items():
        if key.__class__ is not str:
            return None
        if search(key):
            return False
        kind = item.__class__
        if kind is str:
            if search(item):
                return False
        elif kind is int:
            if not xmlrpc.client.MININT <= item <= xmlrpc.client.MAXINT:
                return False
        elif kind is float:
            if not math.isfinite(item):
                return False
        elif item is not None and kind is not bool:
            return None
    return True


def _escape(found):
    code = ord(found.group())
    return f'\\x{code:02x}' if code < 0x100 else f'\\u{code:04x}'


def readableText(text):
    """``text`` with each character XML cannot carry written as a
    backslash escape (``\\x1b``, ``\\ud800``), as error messages are."""
    return NOT_XML.sub(_escape, text) if NOT_XML.search(text) else text


def readable(value):
    """``value`` with every string in it (dict keys too) made
    ``readableText``: how text a store holds but XML cannot carry goes on
    the wire, so that whatever is stored can always be read. Values are
    at most ``codec.MAX_DEPTH`` levels deep, so recursion is bounded."""
    kind = type(value)
    if kind is str:
        return readableText(value)
    if kind is list:
        return [readable(item) for item in value]
    if kind is dict:
        return {readable(key): readable(item) for key, item in value.items()}
    if isinstance(value, Fault):
        return Fault(value.faultCode, readable(value.faultString))
    return value


def _refuseText(text, path, holds='holds'):
    bad = NOT_XML.search(text)
    if bad:
        raise InvalidArgument(
            f'{describePath(path)} {holds} the character {bad.group()!r}, which '
            'XML cannot carry, so XML-RPC could never send this job back; '
            'leave such characters out, or send the text encoded (for '
            'example as base64).')


def checkInput(value):
    """Raise ``InvalidArgument`` if ``value`` could not be sent back over
    XML-RPC: an int over 32 bits, a NaN or an infinity (XML-RPC's double
    has neither), or text (a string or a dict key) holding
    a character XML cannot carry (a control character other than tab, line
    feed and carriage return, a lone surrogate, U+FFFE or U+FFFF).

    The one input check of both APIs: XML-RPC ``add`` (whose parser reads
    ``<i8>`` and longer ``<int>`` values, which no answer can carry back)
    and the JSON API's ``POST /api/jobs`` (whose JSON may hold any
    character as an escape). Iterative: a value a parser built may be
    nested deeper than Python can recurse (the store refuses those, with
    a message that says so).
    """
    stack = [(value, 'The input')]
    while stack:
        item, path = stack.pop()
        kind = type(item)
        if kind is str:
            _refuseText(item, path)
        elif kind is int and not xmlrpc.client.MININT <= item <= \
                xmlrpc.client.MAXINT:
            raise InvalidArgument(
                f'{describePath(path)} holds the integer {_short.repr(item)}, '
                'which XML-RPC cannot carry back (ints are 32-bit); send it '
                'as a string or a double.')
        elif kind is float and not math.isfinite(item):
            raise InvalidArgument(
                f'{describePath(path)} holds the double {item!r}, which XML-RPC '
                'cannot carry (it has neither NaN nor infinity).')
        elif kind is list:
            stack.extend((entry, (path, index))
                         for index, entry in enumerate(item))
        elif kind is dict:
            for key, entry in item.items():
                if type(key) is str:
                    _refuseText(key, path, 'has a key that holds')
                stack.append((entry, (path, key)))
