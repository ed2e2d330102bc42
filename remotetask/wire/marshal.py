"""The bytes of an answer, and the characters XML cannot carry.

A client must never get a document it cannot read: an answer XML-RPC cannot
carry (an int over 32 bits, a character XML forbids) is refused before it
is sent (what a result or an input may hold is checked in ``carried``).

An answer is written in chunks of bytes (``Encoded``), counted as they are
written: past a limit, writing stops with ``AnswerTooLarge``, so that no
answer costs more memory than the limit allows however large the value.
A value written elsewhere (a store thread) travels as ``Encoded`` and is
inlined as it is.
"""

import decimal
import math
import re
import xmlrpc.client

from twisted.web.xmlrpc import Fault

from remotetask.errors import AnswerTooLarge

# Characters XML 1.0 cannot carry, not even as character references; a
# string holding one would make the whole answer unreadable to the client.
NOT_XML = re.compile('[\x00-\x08\x0b\x0c\x0e-\x1f\ud800-\udfff\ufffe\uffff]')



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
