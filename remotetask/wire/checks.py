"""Checking the arguments of XML-RPC calls.

Each check raises ``InvalidArgument`` (fault 3) naming the argument and
what was wrong with it, or ``NoSuchJob`` for an id no store can hold.
"""

import reprlib

from remotetask.errors import InvalidArgument, NoSuchJob

MAX_WAIT = 60
MAX_PAGE = 1000
SCHEDULE_FIELDS = ('minute', 'hour', 'dayOfMonth', 'month', 'dayOfWeek')
#: The largest job id a store can hold (a signed 64-bit integer).
MAX_ID = 2 ** 63 - 1

_short = reprlib.Repr()
_short.maxlevel = 3
_short.maxstring = _short.maxother = _short.maxlong = 80


def need(name, value, *kinds):
    if type(value) not in kinds:
        wanted = ' or '.join(kind.__name__ for kind in kinds)
        raise InvalidArgument(
            f'{name} must be {wanted}, not {type(value).__name__} '
            f'({_short.repr(value)}).')
    return value


def jobId(value):
    need('The job id', value, int)
    if not -MAX_ID <= value <= MAX_ID:
        raise NoSuchJob.withId(value)
    return value
