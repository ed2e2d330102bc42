"""What XML-RPC can carry, and the bytes of an answer.

A client must never get a document it cannot read: an answer XML-RPC cannot
carry (an int over 32 bits, a character XML forbids) is refused before it
is sent, and an input that could not be sent back is refused at the door.
"""

import math
import re
import reprlib
import xmlrpc.client

from twisted.web.xmlrpc import Fault

from remotetask.errors import InvalidArgument

# Characters XML 1.0 cannot carry, not even as character references; a
# string holding one would make the whole answer unreadable to the client.
NOT_XML = re.compile('[\x00-\x08\x0b\x0c\x0e-\x1f\ud800-\udfff\ufffe\uffff]')

_short = reprlib.Repr()
_short.maxlevel = 3
_short.maxstring = _short.maxother = _short.maxlong = 80


class WireMarshaller(xmlrpc.client.Marshaller):
    """The stdlib's marshaller, refusing NaN and infinity: XML-RPC has no
    such doubles, and npm xmlrpc, RPC::XML and Apache XML-RPC cannot read
    an answer that holds one (a whole ``getJobs`` page would be lost)."""

    dispatch = dict(xmlrpc.client.Marshaller.dispatch)

    def dump_double(self, value, write):
        if not math.isfinite(value):
            raise ValueError(f'it holds the double {value!r}; XML-RPC '
                             'carries neither NaN nor infinity')
        xmlrpc.client.Marshaller.dump_double(self, value, write)

    dispatch[float] = dump_double


def wireAnswer(result):
    """The bytes of a methodResponse carrying ``result`` (a value, or a
    Fault); ``ValueError``, ``TypeError`` or ``OverflowError`` when XML-RPC
    cannot carry it, so that the client never gets a document it cannot
    read.

    A carriage return in a string is sent as ``&#13;``: sent as it is, the
    client's XML parser would turn it into a line feed.
    """
    if not isinstance(result, Fault):
        result = (result,)
    text = ("<?xml version='1.0'?>\n<methodResponse>\n"
            + WireMarshaller('utf-8', allow_none=True).dumps(result)
            + '</methodResponse>\n')
    bad = NOT_XML.search(text)
    if bad:
        raise ValueError(f'it holds the character {bad.group()!r}, which '
                         'XML cannot carry')
    # The marshaller writes no carriage return of its own: each one here
    # is inside a string.
    return text.replace('\r', '&#13;').encode('utf-8')


def checkWireValue(value, what='The result'):
    """Raise ``InvalidArgument`` if XML-RPC cannot carry ``value``."""
    try:
        wireAnswer(value)
    except (TypeError, OverflowError, ValueError, RecursionError) as error:
        raise InvalidArgument(
            f'{what} cannot be sent over XML-RPC: {error}.') from None


def checkInput(value):
    """Raise ``InvalidArgument`` if ``value`` holds an int over 32 bits,
    a NaN or an infinity.

    The stdlib parser reads ``<i8>`` and longer ``<int>`` values, but no
    XML-RPC answer can carry them back, so a job with such an input could
    never be read by ``getJob``. Iterative: a value a parser built may be
    nested deeper than Python can recurse (the store refuses those, with
    a message that says so).
    """
    stack = [value]
    while stack:
        item = stack.pop()
        kind = type(item)
        if kind is int and not xmlrpc.client.MININT <= item <= \
                xmlrpc.client.MAXINT:
            raise InvalidArgument(
                f'The input holds the integer {_short.repr(item)}, which '
                'XML-RPC cannot carry back (ints are 32-bit); send it as '
                'a string or a double.')
        if kind is float and not math.isfinite(item):
            raise InvalidArgument(
                f'The input holds the double {item!r}, which XML-RPC '
                'cannot carry (it has neither NaN nor infinity).')
        if kind is list:
            stack.extend(item)
        elif kind is dict:
            stack.extend(item.values())
