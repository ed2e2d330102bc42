"""Writes that may take long: those that touch rows by the thousand, or
encode and store a large input.

A server that commits its short writes on its reactor thread (a store
that provides ``IQuickWrites``) must not run these there: a clean of a
million jobs, the cron misfires of a long outage, the count of a deep
queue, a multicall of thousands of adds, an add of a 9 MB input. They
are marked here, where they are written, so that the writer can tell
them without a list of its own to keep true.
"""

#: How many values the arguments of a call may hold and still count as
#: short: a multicall of about 1,000 adds, some 50 ms of encoding and
#: inserting on the reactor thread.
VALUES = 4000
#: The longest text (or bytes) an argument may hold and still count as
#: short (what the wire still parses on the reactor thread).
TEXT = 65536
#: How many adds a batch may hold and still count as short, whatever
#: their values: some 15 ms of checking, encoding and inserting.
ADDS = 250


def mayTakeLong(function=None, *, when=None):
    """Mark ``function`` (a method of the service) as a write that may
    take long: always, or when ``when(*args, **kwargs)`` says so for a
    call. The mark is read through its bound methods too."""
    def mark(function):
        function.mayTakeLong = when or _always
        return function
    return mark if function is None else mark(function)


def takesLong(function, args=(), kwargs=None):
    """Whether this call of ``function`` may take long."""
    when = getattr(function, 'mayTakeLong', None)
    return when is not None and when(*args, **(kwargs or {}))


def large(*args, **kwargs):
    """``when`` for a call whose cost grows with its arguments (adds):
    whether they hold more than ``VALUES`` values (every item of a list
    or tuple, every key and value of a dict, counted through every level)
    or a text longer than ``TEXT``. Looks at ``VALUES`` values at most,
    so that telling costs little beside the call: a container's items
    are counted before they are looked at, and each is told by its type
    (its exact type first: the costlier ``isinstance`` only for others)."""
    left = VALUES - len(args) - len(kwargs)
    waiting = [args, kwargs.values()]
    while waiting:
        for value in waiting.pop():
            kind = _KINDS.get(type(value)) or _kindOf(value)
            if kind is _SCALAR or not value:
                continue
            if kind is _TEXT:
                if len(value) > TEXT:
                    return True
                continue
            if kind is _DICT:
                left -= 2 * len(value)
                waiting += (value.keys(), value.values())
            else:
                left -= len(value)
                waiting.append(value)
            if left < 0:
                return True
    return left < 0


_SCALAR, _TEXT, _SEQUENCE, _DICT = 'scalar', 'text', 'sequence', 'dict'
_KINDS = {int: _SCALAR, float: _SCALAR, bool: _SCALAR, type(None): _SCALAR,
          str: _TEXT, bytes: _TEXT, bytearray: _TEXT,
          list: _SEQUENCE, tuple: _SEQUENCE, dict: _DICT}


def _kindOf(value):
    """The kind of a value whose type is not one of ``_KINDS``' own (a
    subclass of one, or something else: one value, not looked into)."""
    if isinstance(value, (str, bytes, bytearray)):
        return _TEXT
    if isinstance(value, dict):
        return _DICT
    if isinstance(value, (list, tuple)):
        return _SEQUENCE
    return _SCALAR


def manyAdds(caller, requests):
    """``when`` for a batch of adds in a caller's name
    (``ClientWrites.addEach``): whether it holds more than ``ADDS`` of
    them, or is ``large``. A multicall of 500 adds is told by its length,
    rather than by counting its first 4,000 values (2 ms of the reactor
    thread's)."""
    return len(requests) > ADDS or large(caller, requests)


def _always(*args, **kwargs):
    return True
