"""Turn job inputs, outputs and errors into text a store keeps, and back.

The store must give back exactly what it was given, for every type XML-RPC
can carry (dict with str keys, list, str, int, float, bool, None, bytes,
datetime) and for tuples, which legacy code passes as inputs (the
originals pickled them); and it must never execute what it reads: a
database shared by several servers is not a place for pickle. So values go
through JSON, with the four things JSON lacks (bytes, datetime, tuple, and
a dict whose keys start with ``$``) wrapped in one-key objects whose key
starts with ``$``. A plain dict that has such a key is itself wrapped,
which keeps the encoding unambiguous for any input: ``{'$tuple': [1]}``
given in comes back as that dict, never as a tuple.

Anything else is refused with ``UnstorableValue`` (a ``TypeError``) at the
moment it is handed in, naming the type, rather than being changed silently
(a set would come back as a list) or failing later in a worker. So is a
value nested more than ``MAX_DEPTH`` lists and dicts deep: encoding,
decoding and XML-RPC all recurse once per level, and a value a client can
send but no one can read back is better refused at the door.
"""

import base64
import datetime
import json
import re

from remotetask.errors import UnstorableValue

_SCALARS = (str, int, float, bool, type(None))

#: How many lists, tuples and dicts deep a value may be nested.
MAX_DEPTH = 100


def describePath(path):
    """The text of ``path``, a chain ``(parent, step)`` ending in the name
    of the whole value, kept short: it goes into an error message."""
    steps = []
    while isinstance(path, tuple):
        path, step = path
        text = repr(step)
        steps.append(f'[{text if len(text) <= 30 else text[:26] + "..."}]')
    steps.append(path)
    if len(steps) > 8:
        steps[3:-4] = ['...']
    return ''.join(reversed(steps))


def compactJSON(ensureAscii=True):
    """A function giving the text ``json.dumps(value, separators=(',',
    ':'), ensure_ascii=ensureAscii)`` gives, made once: ``json.dumps``
    builds an encoder at every call, which costs more than encoding a
    job's small input. It does not look for cycles: it is given trees
    that ``_wrap`` built, or an event's flat details."""
    encoder = json.JSONEncoder(separators=(',', ':'),
                               ensure_ascii=ensureAscii, check_circular=False)
    make = json.encoder.c_make_encoder
    if make is None:  # pragma: no cover - CPython has the C encoder
        return encoder.encode
    chunks = make(None, encoder.default,
                  json.encoder.encode_basestring_ascii if ensureAscii else
                  json.encoder.encode_basestring,
                  None, ':', ',', False, False, True)
    return lambda value: ''.join(chunks(value, 0))


_dumps = compactJSON()
#: What JSON allows before a value, and raw_decode does not.
_BLANK = ('', ' ', '\t', '\n', '\r')


def _isFlat(items):
    """Whether ``items`` (a dict's) are str keys without a tag's ``$``
    and scalar values: what most inputs are, stored as they are."""
    for key, item in items:
        if type(key) is not str or type(item) not in _SCALARS or \
                key[:1] == '$':
            return False
    return True


def _wrap(value, path, depth=0):
    # The path is built as a chain and turned into text only for an error:
    # formatting it at every level would cost time and memory quadratic in
    # the depth for a value that is stored after all.
    kind = type(value)
    if kind in _SCALARS:
        return value
    if kind in (list, tuple, dict) and depth >= MAX_DEPTH:
        raise UnstorableValue(
            f'{describePath(path)} is nested deeper than {MAX_DEPTH} levels of '
            'lists and dicts, which cannot be stored.')
    if kind is dict and _isFlat(value.items()):
        return value
    if kind is list:
        return [_wrap(item, (path, i), depth + 1)
                for i, item in enumerate(value)]
    if kind is tuple:
        return {'$tuple': [_wrap(item, (path, i), depth + 1)
                           for i, item in enumerate(value)]}
    if kind is dict:
        wrapped = {}
        for key, item in value.items():
            if type(key) is not str:
                raise UnstorableValue(
                    f'{describePath(path)} has a key of type {type(key).__name__} '
                    f'({key!r:.80}); only str keys can be stored.')
            wrapped[key] = _wrap(item, (path, key), depth + 1)
        if any(key.startswith('$') for key in wrapped):
            return {'$dict': wrapped}
        return wrapped
    if kind is bytes:
        return {'$bytes': base64.b64encode(value).decode('ascii')}
    if kind is datetime.datetime:
        return {'$datetime': value.isoformat()}
    raise UnstorableValue(
        f'{describePath(path)} is of type {kind.__name__}, which cannot be stored '
        'faithfully; use dict, list, tuple, str, int, float, bool, None, '
        'bytes or datetime.')


def _unwrap(node):
    # Top down: the contents of a '$dict' wrapper are a user's dict whose
    # '$' keys mean nothing, so they must not be unwrapped again.
    kind = type(node)
    if kind is list:
        return [_unwrap(item) for item in node]
    if kind is dict:
        if len(node) == 1:
            (key, item), = node.items()
            if key == '$bytes':
                return base64.b64decode(item)
            if key == '$datetime':
                return datetime.datetime.fromisoformat(item)
            if key == '$tuple':
                return tuple(_unwrap(element) for element in item)
            if key == '$dict':
                return {k: _unwrap(v) for k, v in item.items()}
        return {k: _unwrap(v) for k, v in node.items()}
    return node


def encode(value, what='value'):
    """Return ``value`` as JSON text; ``UnstorableValue`` if it cannot be
    kept exactly. ``what`` names the value in the error message."""
    if value.__class__ is dict and _isFlat(value.items()):
        return _dumps(value)  # most inputs: nothing to wrap, nor to walk
    return _dumps(_wrap(value, what))


# Made once, and called before json.loads: what ``encode`` wrote has no
# whitespace around it for loads' two regular-expression matches to skip,
# and loads guesses the encoding of bytes first (a job's input is decoded
# in its worker per job).
_rawDecode = json.JSONDecoder().raw_decode


def decode(text):
    """Return the value ``encode`` was given; ``None`` for ``None``."""
    if text is None:
        return None
    value, end = _rawDecode(text) if text.__class__ is str and \
        text[:1] not in _BLANK else (None, -1)
    if end != len(text):  # not all of it: json.loads accepts it or says why
        value = json.loads(text)
    if value.__class__ is dict and _isFlat(value.items()):
        return value  # nothing wrapped, and a fresh dict: not copied
    return _unwrap(value)


_CONTROL = re.compile('[\x00-\x08\x0b\x0c\x0e-\x1f]')


def storableText(text):
    """``text`` as every store and XML-RPC can keep it: an exception
    message may hold a NUL (PostgreSQL refuses it), another control
    character (XML cannot carry it) or a lone surrogate (no UTF-8 codec
    takes it); these are written as backslash escapes instead."""
    if text is None:
        return None
    text = _CONTROL.sub(lambda found: f'\\x{ord(found.group()):02x}', text)
    return text.encode('utf-8', 'backslashreplace').decode('utf-8')
