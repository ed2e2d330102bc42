"""What XML-RPC can carry: the checks of a result and of an input.

A client must never get a document it cannot read. A result is checked
where the task made it (``checkWireValue``), an input at the door
(``checkInput``: one that could not be sent back is refused), and text
a store holds but XML cannot carry goes out escaped (``readable``). The
bytes themselves are ``marshal``'s.
"""

import math
import reprlib
import xmlrpc.client

from twisted.web.xmlrpc import Fault

from remotetask.core.codec import describePath
from remotetask.errors import InvalidArgument
from remotetask.wire.marshal import NOT_XML, wireAnswer

_short = reprlib.Repr()
_short.maxlevel = 3
_short.maxstring = _short.maxother = _short.maxlong = 80


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
    dict met once. False says only that the walk cannot tell.

    Each container is read in one loop, its scalars looked at as they
    come; only the containers inside wait on the stack, and the set of
    those met is made at the first of them: a flat dict of scalars (most
    results) costs a loop over its keys and one over its values."""
    search = NOT_XML.search
    kind = value.__class__
    if kind is list or kind is tuple or kind is dict:
        container, depth = value, 0
    else:  # as the only entry of a container above the top
        container, depth = (value,), -1
    stack, seen = [], None
    while True:
        if container.__class__ is dict:
            for key in container:
                if key.__class__ is not str or search(key):
                    return False
            container = container.values()
        for item in container:
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
            elif kind is list or kind is tuple or kind is dict:
                stack.append((item, depth + 1))
            elif item is not None and kind is not bool:
                return False
        if not stack:
            return True
        container, depth = stack.pop()
        if depth >= PLAIN_DEPTH:
            return False
        if seen is None:
            seen = {id(value)}
        if id(container) in seen:
            return False
        seen.add(id(container))


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
