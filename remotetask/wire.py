"""What crosses the XML-RPC wire: checking arguments and shaping answers.

The resource (``remotetask.xmlrpc``) calls these to refuse, with the
documented fault, every argument it cannot take and every answer a client
could not read; ``toFault`` is the one place where exceptions become
faults.
"""

import datetime
import re
import reprlib
import xmlrpc.client

from twisted.web.xmlrpc import Fault

from remotetask.errors import (
    InternalError, InvalidArgument, NoSuchJob, RemoteTaskError)

MAX_WAIT = 60
MAX_PAGE = 1000
SCHEDULE_FIELDS = ('minute', 'hour', 'dayOfMonth', 'month', 'dayOfWeek')
#: The largest job id a store can hold (a signed 64-bit integer).
MAX_ID = 2 ** 63 - 1

# Characters XML 1.0 cannot carry, not even as character references; a
# string holding one would make the whole answer unreadable to the client.
NOT_XML = re.compile('[\x00-\x08\x0b\x0c\x0e-\x1f\ud800-\udfff\ufffe\uffff]')

_short = reprlib.Repr()
_short.maxlevel = 3
_short.maxstring = _short.maxother = _short.maxlong = 80


def toFault(error):
    """The Fault a client sees for ``error`` (an exception or Fault)."""
    if isinstance(error, Fault):
        return error
    if isinstance(error, RemoteTaskError):
        return Fault(error.faultCode, error.message)
    return Fault(InternalError.faultCode, InternalError().message)


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
    text = xmlrpc.client.dumps(result, methodresponse=True, allow_none=True)
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
    """Raise ``InvalidArgument`` if ``value`` holds an int over 32 bits.

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
        if kind is list:
            stack.extend(item)
        elif kind is dict:
            stack.extend(item.values())


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


def _datetime(epoch):
    return None if epoch is None else datetime.datetime.fromtimestamp(epoch)


def _iso(moment):
    if moment is None:
        return None
    return moment.astimezone(datetime.timezone.utc).isoformat()


def jobStruct(job):
    """A job as an XML-RPC struct (times as ISO 8601 strings in UTC)."""
    struct = dict(
        id=job.id, task=job.task, status=str(job.status), input=job.input,
        output=job.output, error=job.error, traceback=job.traceback,
        created=_iso(job.created), started=_iso(job.started),
        completed=_iso(job.completed), attempts=job.attempts,
        history=list(job.history), schedule=None,
        nextRun=_iso(job.scheduledFor if hasattr(job, 'scheduledFor')
                     else _datetime(job.due)))
    if hasattr(job, 'timeOfNextCall'):
        schedule = {name: list(getattr(job, name)) for name in
                    SCHEDULE_FIELDS if getattr(job, name)}
        if job.crontab:
            schedule = dict(crontab=job.crontab)
        if job.delay is not None:
            schedule = dict(delay=job.delay)
        if job.misfire != 'once':
            schedule['misfire'] = job.misfire
        struct['schedule'] = schedule
        struct['missed'] = job.missed
    return struct
