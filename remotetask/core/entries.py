"""What ``add()`` stores: its options checked, and the store's entry.

``TaskService.add(task, input, startLater, *, priority, key, delay,
maxAttempts)`` and its batch forms check their options here, once, for the
Python API and every wire alike (``remotetask.wire.addoptions`` only maps
a request's struct onto these keywords).
"""

import collections
import math
import re

from remotetask.core import codec
from remotetask.core.addoptions import ADD_OPTIONS
from remotetask.core.job import MAX_DELAY
from remotetask.core.status import QUEUED, STARTLATER
from remotetask.errors import InvalidArgument

#: Priorities run from MIN_PRIORITY to MAX_PRIORITY, higher first; 0 is
#: the default. Bounded so that a priority reads as a level, not a key.
MIN_PRIORITY, MAX_PRIORITY = -100, 100
#: The longest unique key, in characters.
MAX_KEY = 200
#: The most attempts a job may be given (a task's own maxAttempts is not
#: bounded, for legacy code).
MAX_ATTEMPTS = 100

#: What a key may not hold: control characters and what XML-RPC cannot
#: carry back in ``getJob``.
_NOT_KEY = re.compile('[\x00-\x1f\x7f\ud800-\udfff\ufffe\uffff]')

#: The keyword arguments ``add()`` takes besides the task and its input,
#: in the order ``addEach`` and ``addMany`` accept them.
OPTIONS = tuple(option.keyword for option in ADD_OPTIONS)
_KNOWN = frozenset(OPTIONS)


class Entry(collections.namedtuple(
        'Entry',
        'task input status schedule priority key due maxattempts notify '
        'owner', defaults=(0, None, None, None, None, None))):
    """A new job as ``IJobStore.add``/``addMany`` take it: the input and
    schedule already encoded; ``due`` (epoch seconds) or None for at once;
    ``maxattempts`` None for the task's; ``notify`` the URL told of the
    job's end, or None; ``owner`` who added it (issue 22), or None. A
    plain ``(task, input, status, schedule)`` tuple is an Entry with the
    defaults."""

    __slots__ = ()


def _isNumber(value, *kinds):
    return type(value) in kinds


def checkPriority(priority):
    if not _isNumber(priority, int) or not \
            MIN_PRIORITY <= priority <= MAX_PRIORITY:
        raise InvalidArgument(
            f'priority must be a whole number from {MIN_PRIORITY} to '
            f'{MAX_PRIORITY} (higher runs first), not {priority!r:.40}.')
    return priority


def checkKey(key):
    if key is None:
        return None
    if not isinstance(key, str) or not 1 <= len(key) <= MAX_KEY:
        raise InvalidArgument(
            f'key must be a string of 1 to {MAX_KEY} characters, not '
            f'{key!r:.60}.')
    bad = _NOT_KEY.search(key)
    if bad:
        raise InvalidArgument(
            f'key may not hold the character {bad.group()!r}.')
    return key


def checkDelay(delay):
    """``delay`` in seconds (None or 0: none), within 100 years."""
    if delay is None:
        return None
    if not _isNumber(delay, int, float) or not math.isfinite(delay) \
            or not 0 <= delay <= MAX_DELAY:
        raise InvalidArgument(
            f'delay must be a number of seconds from 0 to {MAX_DELAY} '
            f'(100 years), not {delay!r:.40}.')
    return delay or None


def checkMaxAttempts(maxAttempts):
    if maxAttempts is None:
        return None
    if not _isNumber(maxAttempts, int) or not \
            1 <= maxAttempts <= MAX_ATTEMPTS:
        raise InvalidArgument(
            f'maxAttempts must be a whole number from 1 to {MAX_ATTEMPTS}, '
            f'not {maxAttempts!r:.40}.')
    return maxAttempts


def newEntry(task, input, now, startLater=False, priority=0, key=None,
             delay=None, maxAttempts=None, notify=None, owner=None):
    """The ``Entry`` of a job ``add()`` was asked for at ``now``;
    ``InvalidArgument`` naming the option that is not valid, or
    ``UnstorableValue`` for an input the stores cannot keep."""
    # The options left out (None) are not checked: an add gives few.
    delay = None if delay is None else checkDelay(delay)
    return Entry(
        task, codec.encode(input, 'input'),
        STARTLATER if startLater else QUEUED, None, checkPriority(priority),
        None if key is None else checkKey(key),
        None if delay is None else now + delay,
        None if maxAttempts is None else checkMaxAttempts(maxAttempts),
        notify, owner)


def plainEntry(task, input, owner=None):
    """The ``Entry`` of an add with no options (``newEntry``'s, without
    checking options that are not there): most adds are such."""
    # Made as ``Entry._make`` makes it, without the Python call of the
    # named tuple's ``__new__``: a multicall of 500 adds makes 500.
    return _makeTuple(Entry, (task, codec.encode(input, 'input'), QUEUED,
                              None, 0, None, None, None, None, owner))


_makeTuple = tuple.__new__


def requestOptions(request):
    """The keyword arguments of one request of ``addEach``/``addMany``:
    ``(task, input)``, ``(task, input, startLater)`` or ``(task, input,
    options)`` with ``options`` a dict of ``add()``'s keywords (see
    ``OPTIONS``). Returns ``(task, input, keywords)``."""
    if not isinstance(request, (tuple, list)) or not 1 <= len(request) <= 3:
        raise InvalidArgument(
            f'Each request is (task, input, startLater or options), not '
            f'{request!r:.60}.')
    task, input, options = tuple(request) + (None, False)[len(request) - 1:]
    if isinstance(options, dict):
        if not _KNOWN.issuperset(options):
            unknown = set(options) - _KNOWN
            raise InvalidArgument(
                f'Unknown options: {", ".join(sorted(map(str, unknown)))} '
                f'(known: {", ".join(OPTIONS)}).')
        return task, input, dict(options)
    return task, input, dict(startLater=options)
