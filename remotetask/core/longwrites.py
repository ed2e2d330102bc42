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
    whether they hold more than ``VALUES`` values or a text longer than
    ``TEXT``. Looks at ``VALUES`` values at most, so that telling costs
    little beside the call."""
    waiting, seen = [*args, *kwargs.values()], 0
    while waiting:
        value = waiting.pop()
        seen += 1
        if seen > VALUES:
            return True
        if isinstance(value, (str, bytes, bytearray)):
            if len(value) > TEXT:
                return True
        elif isinstance(value, (list, tuple, dict)):
            if len(value) > VALUES:
                return True
            if isinstance(value, dict):
                waiting.extend(value.keys())
                waiting.extend(value.values())
            else:
                waiting.extend(value)
    return False


def _always(*args, **kwargs):
    return True
