"""Checking the arguments of XML-RPC calls.

Each check raises ``InvalidArgument`` (fault 3) naming the argument and
what was wrong with it, or ``NoSuchJob`` for an id no store can hold.
"""

import reprlib

from remotetask.core.bounds import MAX_STORED_INT
from remotetask.errors import InvalidArgument, NoSuchJob

SCHEDULE_FIELDS = ('minute', 'hour', 'dayOfMonth', 'month', 'dayOfWeek')

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
    # Past what a store can compare with, no job is looked for.
    if not -MAX_STORED_INT <= value <= MAX_STORED_INT:
        raise NoSuchJob.withId(value)
    return value
