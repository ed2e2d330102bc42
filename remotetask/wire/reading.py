"""Stored jobs made into answers, in a store thread, within a size.

What a client may read back can be far larger than what it sent: a
7 KB multicall of ``getResult`` on a 9 MB result once built a 270 MB
answer. So every answer that holds stored values is written here, in
the store thread that read them (never on the reactor thread), as
``Encoded`` chunks counted as they are written, and each is bounded:

* a value (``getResult``, ``getError``) whose stored form shows that it
  cannot fit is refused with ``AnswerTooLarge`` before it is decoded; one
  that turns out larger while it is written is refused then;
* a job's struct (``getJob``, ``addAndWait``, a page's jobs) that would not
  fit leaves out its largest members (``input``, ``output``, ``error``,
  ``traceback``, ``history``) and names them, with their stored sizes, in
  ``omitted``, so that every job can be listed and its status read;
* a page of jobs is cut by bytes as well as by count, its cursor going on
  from the last job it holds.

A store row is read whole; a page reads rows a few at a time (``BATCHES``),
so that no read holds many more rows than the page keeps.
"""

from xmlrpc.client import MAXINT, MININT

from remotetask.core import codec
from remotetask.core import job as jobs
from remotetask.errors import AnswerTooLarge, InvalidArgument, NoSuchJob
from remotetask.wire.carried import readable
from remotetask.wire.marshal import NOT_XML, Encoded, encodeValue
from remotetask.wire.structs import jobStruct

#: The members of a job that may be large, in a row and in its struct.
OMITTABLE = ('output', 'input', 'traceback', 'history', 'error')
#: What a job's struct takes besides its omittable members, at most.
STRUCT_OVERHEAD = 2048
#: What a page takes besides its jobs' structs, at most.
PAGE_OVERHEAD = 256
#: How many rows a page reads at a time: one, then more as long as the
#: page goes on (a row is read whole, and may be as large as a result).
BATCHES = (1, 2, 4, 8)


def storedSize(text):
    """At least how many bytes stored ``text`` (a JSON text, or an error)
    takes in an answer: its length, less what its escapes may save (a
    ``\\u00e9`` of six characters is two bytes of UTF-8)."""
    if text is None:
        return 0
    return len(text) - 5 * text.count('\\')


def encodeWithin(value, limit):
    """``value`` as an XML-RPC ``<value>``, ``Encoded``, within ``limit``
    bytes (``AnswerTooLarge`` past it). Text XML cannot carry is sent as
    backslash escapes; a value XML-RPC cannot carry at all is fault 3."""
    try:
        try:
            return encodeValue(value, limit)
        except ValueError:
            return encodeValue(readable(value), limit)
    except (TypeError, OverflowError, ValueError) as error:
        message = NOT_XML.sub('?', str(error))
        raise InvalidArgument(
            f'The answer cannot be sent over XML-RPC: {message}.') from None


def readResult(service, limit, jobid):
    """Job ``jobid``'s result; refused, undecoded, if its stored form
    cannot fit ``limit`` bytes."""
    stored = service.getRow(jobid)['output']
    if storedSize(stored) > limit:
        raise AnswerTooLarge.over(limit, f'The result of job {jobid}')
    return codec.decode(stored)


def readError(service, limit, jobid):
    """Job ``jobid``'s error message, or None."""
    error = service.getRow(jobid)['error']
    if storedSize(error) > limit:
        raise AnswerTooLarge.over(limit, f'The error of job {jobid}')
    return error


def fitRow(row, room):
    """``(row, omitted)``: ``row`` with its largest members left out
    (None) until those it keeps take at most ``room`` bytes, and
    ``{member: stored size}`` of those left out."""
    sizes = {name: storedSize(row[name]) for name in OMITTABLE
             if row[name] is not None}
    total = sum(sizes.values())
    omitted = {}
    for name in sorted(sizes, key=sizes.get, reverse=True):
        if total <= room:
            break
        omitted[name] = len(row[name])
        total -= sizes[name]
    if not omitted:
        return row, omitted
    return dict(row, **dict.fromkeys(omitted)), omitted


def structWithin(row, limit, timezone, graph=None):
    """Job ``row`` as an ``Encoded`` struct of at most ``limit`` bytes:
    whole if it fits, else without its largest members, which
    ``omitted`` names (a few hundred bytes, unless its events are many
    and long); ``AnswerTooLarge`` if even that does not fit, as for the
    last calls of a multicall whose answer is nearly full. ``graph``: the
    members ``dependencies`` and ``dependents`` (each left out when
    empty)."""
    kept, omitted = fitRow(row, limit - STRUCT_OVERHEAD)
    try:
        return _struct(kept, omitted, timezone, limit, graph)
    except AnswerTooLarge:
        kept, omitted = fitRow(row, 0)
        return _struct(kept, omitted, timezone, limit, graph)


def _struct(row, omitted, timezone, limit, graph=None):
    struct = jobStruct(jobs.fromRow(row, timezone=timezone))
    struct.update((name, value) for name, value in (graph or {}).items()
                  if value)
    if omitted:
        struct['omitted'] = omitted
    return encodeWithin(struct, limit)


def readJob(service, limit, jobid):
    """Job ``jobid``'s struct within ``limit`` (``structWithin``), with
    the jobs it waits for and those that wait for it."""
    row = service.getRow(jobid)
    dependencies, dependents = service.getDependencies(jobid)
    return structWithin(row, limit, service.timezone, dict(
        dependencies=dependencies, dependents=dependents))


def oldestFirst(status, task):
    """The rows of a page oldest first: ``fetch(after, wanted)`` (see
    ``readPage``), by ``service.findRows``."""
    def fetch(service, after, wanted):
        rows = service.findRows(status=status, task=task, after=after,
                                limit=wanted)
        return rows, rows[-1]['id'] if len(rows) == wanted else None
    return fetch


def newestFirst(status, task):
    """The rows of a page newest first, by ``service.newest`` (whose
    previews lead to the whole rows): a read may give fewer rows than
    wanted and still a position to go on from, when both filters are
    given (``IJobStore.newest``)."""
    def fetch(service, before, wanted):
        previews, cursor = service.newest(status=status, task=task,
                                          before=before or None,
                                          limit=wanted)
        rows = []
        for preview in previews:
            try:
                rows.append(service.getRow(preview['id']))
            except NoSuchJob:
                pass  # removed since it was listed
        return rows, cursor
    return fetch


def readPage(service, limit, pageSize, count, fetch, start):
    """A ``getJobs`` page: ``{'jobs': [Encoded struct], 'cursor': id}``.

    It holds up to ``count`` jobs from ``start``, in the order of
    ``fetch(service, position, wanted)`` (``oldestFirst``,
    ``newestFirst``), which gives up to ``wanted`` rows from ``position``
    and the position after them (None: no more). The page is cut before
    the job that would take it past ``pageSize`` bytes (or past
    ``limit``, the whole answer's). Its first job may take up to
    ``limit``, and is sent without its largest members if even that is
    too little, so that every page holds at least one job and listing
    always goes on. ``cursor``, the position after its last job, is
    there when more jobs may follow.
    """
    limit -= PAGE_OVERHEAD
    room = min(pageSize, limit)
    kept, used = [], 0
    batches = iter(BATCHES)
    position = start
    while len(kept) < count:
        wanted = min(count - len(kept), next(batches, BATCHES[-1]))
        rows, after = fetch(service, position, wanted)
        for row in rows:
            if kept:
                fragment = _whole(row, room - used, service.timezone)
                if fragment is None:
                    # Cut: the next page begins with this job.
                    return dict(jobs=kept, cursor=position)
            else:
                fragment = structWithin(row, limit, service.timezone)
            kept.append(fragment)
            used += fragment.size
            position = row['id']
        position = after
        if position is None or len(rows) < wanted:
            break
    page = dict(jobs=kept)
    if position is not None:
        page['cursor'] = position  # absent: no more pages
    return page


def _whole(row, room, timezone):
    """Job ``row``'s whole struct if it fits ``room`` bytes, else None."""
    if sum(storedSize(row[name]) for name in OMITTABLE) > room:
        return None
    try:
        return _struct(row, {}, timezone, room)
    except AnswerTooLarge:
        return None


class AnswerBudget:
    """The bytes one request's answer may still take: a multicall's
    calls share one, so that the whole answer is bounded, not each call.

    Every call's answer is counted as it is written (``take``), and room
    is kept for the calls still to come: each may need a short fault 12
    (``NOT_RUN``), which is what a call gets, without being run, once the
    answer is full. So the answer, faults included, stays within
    ``limit`` however many calls come, or, when even their faults would
    not fit, the multicall is refused whole (``AnswerTooLarge``)."""

    def __init__(self, limit, calls=0):
        self.limit = limit
        self.spent = ENVELOPE
        self.pending = calls
        if self.room() < 0:
            raise AnswerTooLarge(
                f'A multicall of {calls} calls cannot be answered within '
                f'{limit} bytes (see --max-answer-size); send fewer calls '
                'in each.')

    def room(self):
        """What the next answer may take, the others' faults kept."""
        return self.limit - self.spent - self.pending * NOT_RUN.size

    @property
    def left(self):
        """What a value read for the next call may take (the room, less
        the array that wraps each answer)."""
        return self.room() - WRAPPING

    def begin(self):
        """The next call starts: its fault's room is its own now. Whether
        there is room enough to run it."""
        self.pending = max(0, self.pending - 1)
        return self.left >= MIN_ROOM

    def take(self, answer):
        """``answer`` (a call's ``[result]`` or fault struct) written
        within the room, and counted; ``NOT_RUN`` if it does not fit."""
        try:
            encoded = encodeWithin(answer, self.room())
        except AnswerTooLarge:
            encoded = NOT_RUN
        except InvalidArgument as error:
            return self.take(dict(faultCode=error.faultCode,
                                  faultString=str(error)))
        self.spent += encoded.size
        return encoded

    def takeEach(self, answers):
        """Each of ``answers`` (the ``[result]`` or fault struct of calls
        run already, in order) begun and taken in turn, as ``begin`` and
        ``take`` would one by one. An answer of one int of 32 bits (an
        add's id) is written here at once: a multicall of 500 adds is 500
        of them."""
        taken = []
        for answer in answers:
            if self.pending:
                self.pending -= 1
            if answer.__class__ is list and len(answer) == 1 and \
                    answer[0].__class__ is int and \
                    MININT <= answer[0] <= MAXINT:
                data = ONE_INT % answer[0]
                size = len(data)
                if size <= self.room():
                    self.spent += size
                    taken.append(Encoded([data], size))
                    continue
            taken.append(self.take(answer))
        return taken

    def notRun(self):
        self.spent += NOT_RUN.size
        return NOT_RUN


#: A multicall's answer around its calls' answers, at most.
ENVELOPE = 256
#: What wraps a call's value (``<value><array><data>``...), at most.
WRAPPING = 64
#: The least room in which a call is run; with less it gets ``NOT_RUN``.
MIN_ROOM = 256
#: A call's answer of one int (``%`` the int), as ``encodeValue`` writes
#: ``[int]``.
ONE_INT = b'<value><array><data>\n<value><int>%d</int></value>\n' \
    b'</data></array></value>\n'
#: The answer of a call not run because the multicall's answer is full.
NOT_RUN = encodeValue(dict(faultCode=AnswerTooLarge.faultCode, faultString=(
    'Not run: the answer is full (--max-answer-size).')))
