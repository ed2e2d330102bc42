"""Reading the usual XML-RPC request at the speed of ElementTree's C parser.

A multicall of 500 adds is some 10,000 elements: read by the stdlib's
reader (``unmarshal``), each costs the parser two calls into Python
(start and end) and most a third (the value's handler), which made the
reading of such a request cost about as much as the whole of a bare
server's call (issue 18). ElementTree's parser builds the tree in C with
the same parser (expat), and one walk of it in Python makes the values.

This reader takes only what it is sure to read as ``unmarshal`` reads
it: a ``methodCall`` whose elements are all where XML-RPC puts them
(each ``value`` holding text or one typed element, each ``member`` a
``name`` then a ``value``, each ``array`` one ``data`` of ``value``\\ s),
in UTF-8 or ASCII, with no DOCTYPE, comment, CDATA section or
processing instruction (where the two parsers' handling of text could
differ, or that ``unmarshal`` refuses). Anything else, and anything
wrong (a malformed number, a document that is not well formed), it
leaves to ``unmarshal`` (``quickRequest`` answers None), whose reading
and whose messages stay the only ones a client meets.
"""

import base64
import binascii
import xmlrpc.client
from xml.etree.ElementTree import XMLParser

MININT, MAXINT = xmlrpc.client.MININT, xmlrpc.client.MAXINT

_DECLARED = b'<?xml'
#: The largest body read here. A tree takes some ten times its body's
#: size while it is walked (the stdlib's reader about twice), so larger
#: bodies, rare and costly to parse anyway, are left to ``unmarshal``:
#: a multicall of 500 adds is 166 KB.
QUICK_MAX = 512 * 1024


class _Unusual(Exception):
    """Something this reader leaves to ``unmarshal``."""


def quickRequest(body):
    """``(params, methodName, sendable)`` of the methodCall in ``body``
    (bytes, as ``unmarshal._asDeclared`` gives them), as
    ``unmarshal.parseRequest`` reads it; None when this reader leaves
    ``body`` to that one (see the module docstring), as it does a body
    over ``QUICK_MAX`` bytes."""
    if len(body) > QUICK_MAX or not _plainDocument(body):
        return None
    reading = _Reading()
    try:
        parser = XMLParser()
        parser.feed(body)
        root = parser.close()
        return reading.request(root)
    except (_Unusual, ValueError, TypeError, SyntaxError, RecursionError,
            binascii.Error):
        # SyntaxError: ElementTree's ParseError (not well formed).
        return None


def _plainDocument(body):
    """Whether ``body`` is UTF-8 (or ASCII) XML with nothing but elements,
    attributes and text after its declaration."""
    start = 0
    if body.startswith(_DECLARED):
        start = body.find(b'?>')
        if start < 0:
            return False
        declaration = body[:start].lower()
        if b'encoding' in declaration and not (
                b'utf-8' in declaration or b'utf8' in declaration
                or b'ascii' in declaration):
            return False
        start += 2
    return (b'<!' not in body and body.find(b'<?', start) < 0
            and b'\x00' not in body)


class _Reading:
    """One request's walk; ``wide``: an int over 32 bits was read."""

    def __init__(self):
        self.wide = False

    def request(self, root):
        if root.tag != 'methodCall' or not 1 <= len(root) <= 2:
            raise _Unusual()
        name, *rest = root
        if name.tag != 'methodName' or len(name):
            raise _Unusual()
        params = []
        if rest:
            given, = rest
            if given.tag != 'params':
                raise _Unusual()
            for param in given:
                if param.tag != 'param' or len(param) != 1:
                    raise _Unusual()
                params.append(self.value(param[0]))
        return tuple(params), name.text or '', not self.wide

    def value(self, element):
        """The value of a ``<value>`` element. Its struct or array is read
        here too, not in a call of its own: a multicall of 500 adds holds
        1,500 of them."""
        if element.tag != 'value':
            raise _Unusual()
        count = len(element)
        if not count:
            return element.text or ''
        if count != 1:
            raise _Unusual()
        typed = element[0]
        tag = typed.tag
        # Children are taken as a list (a slice): an Element's iterator
        # ends by raising IndexError, and its unpacking too.
        if tag == 'struct':
            found = {}
            for member in typed[:]:
                if member.tag != 'member':
                    raise _Unusual()
                # Other than two children: ValueError, left to unmarshal.
                name, item = member[:]
                if name.tag != 'name' or len(name):
                    raise _Unusual()
                found[name.text or ''] = self.value(item)
            return found
        if tag == 'array':
            data, = typed[:]
            if data.tag != 'data':
                raise _Unusual()
            items = []
            for item in data[:]:
                items.append(self.value(item))
            return items
        if len(typed):
            raise _Unusual()
        # The leaves of most requests (an add's task and input) read here,
        # without a call each.
        if tag == 'string':
            return typed.text or ''
        if tag == 'int':
            number = int(typed.text or '')
            if not MININT <= number <= MAXINT:
                self.wide = True
            return number
        read = _LEAVES.get(tag)
        if read is None:
            raise _Unusual()
        return read(self, typed.text or '')

    def integer(self, text):
        number = int(text)
        if not MININT <= number <= MAXINT:
            self.wide = True
        return number

    def string(self, text):
        return text

    def nil(self, text):
        return None

    def boolean(self, text):
        text = text.strip().lower()
        if text in ('1', 'true'):
            return True
        if text in ('0', 'false'):
            return False
        raise _Unusual()

    def base64(self, text):
        return base64.b64decode(''.join(text.split()), validate=True)


_LEAVES = dict(
    string=_Reading.string, nil=_Reading.nil, boolean=_Reading.boolean,
    base64=_Reading.base64,
    **dict.fromkeys(('int', 'i4', 'i8', 'i1', 'i2', 'biginteger'),
                    _Reading.integer))
