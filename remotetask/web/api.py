"""The JSON view, ``/api/...``: what the dashboard reads and does.

Reads and actions run in store threads through ``storeCall``, and each
answer that holds stored values is made JSON there too, within
``--max-answer-size`` (a job's largest members left out, and named in
``omitted``, when it would not fit; a page of jobs cut by bytes as well as
by count); a large body is read in a thread (``parseCall``). The reactor
thread only routes requests and sends answers. Actions (POST) need the
page's CSRF token in the ``X-Remotetask-CSRF`` header and, when the request
comes from a browser, an ``Origin`` of this very site: a page elsewhere
can neither read the token nor send that header without the browser
asking us first, which we never allow. The credentials, when ``--users``
is set, are checked before any of this by the guard around the whole
site. docs/dashboard.md ("The dashboard, its JSON view and the metrics") lists
every route.
"""

import hmac
import json
import time

from twisted.internet import defer
from twisted.logger import Logger
from twisted.web import resource, server

from remotetask.core.bounds import BEFORE_EVERY_ID, MAX_JOB_ID, MAX_VIEW_PAGE
from remotetask.core.codec import MAX_DEPTH
from remotetask.core.clientwrites import CHANGES
from remotetask.errors import (
    AnswerTooLarge, InternalError, InvalidArgument, NoSuchJob, NoSuchTask,
    NotAllowed, NotAuthorised, NotPermitted, RemoteTaskError,
    RequestTooLarge, ServerBusy, StoreUnavailable, UnstorableValue)
from remotetask.core.permissions import mayAddTasks, scoped, whoIs
from remotetask.core.status import Status
from remotetask.web import views
from remotetask.web.plumbing import (
    Cached, JsonAnswers, header, isCrossSite, jsonBytes, localWorkers)
from remotetask.wire import answers
from remotetask.wire.addoptions import (
    MEMBERS, parseAddOptions, parseStep, parseSteps)
from remotetask.wire.carried import checkInput
from remotetask.wire.marshal import Encoded
from remotetask.wire.reading import STRUCT_OVERHEAD, fitRow
from remotetask.wire.calls import PARSE_INLINE
from remotetask.wire.xmlrpc import (
    MAX_ANSWER_SIZE, MAX_PAGE_SIZE, describeTasks)

CSRF_HEADER = b'x-remotetask-csrf'
MAX_TEXT = 200


class Forbidden(NotAuthorised):
    """This action needs the dashboard's CSRF token, sent from its page."""


#: The HTTP status of each error a request can cause; anything else is a
#: bug: 500, and the details go to the log.
ANSWERS = JsonAnswers({
    NoSuchJob: 404, NoSuchTask: 400, InvalidArgument: 400,
    UnstorableValue: 400, NotAllowed: 409, StoreUnavailable: 503,
    ServerBusy: 503, RequestTooLarge: 413, AnswerTooLarge: 400,
    Forbidden: 403, NotPermitted: 403, InternalError: 500})


def _jobId(text):
    try:
        jobid = int(text)
    except ValueError:
        raise NoSuchJob.withId(text) from None
    if not 1 <= jobid <= MAX_JOB_ID:
        raise NoSuchJob.withId(jobid)
    return jobid


def _argument(request, name, default=None):
    values = request.args.get(name.encode('ascii'))
    if not values or values[0] == b'':
        return default
    try:
        return values[0].decode('utf-8')
    except UnicodeDecodeError:
        raise InvalidArgument(f'{name} is not UTF-8 text.') from None


def _intArgument(request, name, default, low, high):
    text = _argument(request, name)
    if text is None:
        return default
    try:
        value = int(text)
    except ValueError:
        value = None
    if value is None or not low <= value <= high:
        raise InvalidArgument(
            f'{name} must be a whole number from {low} to {high}.')
    return value


class ApiResource(resource.Resource):
    """``/api/...``; docs/dashboard.md lists the routes."""

    isLeaf = True
    log = Logger()

    def __init__(self, service, storeCall, dispatcher, csrfToken,
                 clock=None, writeCall=None, parseCall=None,
                 maxAnswerSize=MAX_ANSWER_SIZE, maxPageSize=MAX_PAGE_SIZE):
        super().__init__()
        self.service = service
        self.storeCall = storeCall
        self.writeCall = writeCall or storeCall
        self.parseCall = parseCall or storeCall
        self.maxAnswerSize = maxAnswerSize
        self.maxPageSize = maxPageSize
        self.dispatcher = dispatcher
        self.csrfToken = csrfToken.encode('ascii')
        if clock is None:
            from twisted.internet import reactor as clock
        self.clock = clock
        # Many open pages poll the summary; it is read once for all of them.
        self.summary = Cached(
            storeCall, lambda: views.summary(
                self.service.reads, self.service.routing, time.time()),
            clock)

    # The HTTP side

    def render_GET(self, request):
        return self._answer(request, self._get, request)

    def render_POST(self, request):
        return self._answer(request, self._post, request)

    def _answer(self, request, handler, *args):
        request.setHeader(b'cache-control', b'no-store')
        answers.answer(request, defer.maybeDeferred(handler, *args), ANSWERS)
        return server.NOT_DONE_YET

    @staticmethod
    def _route(request):
        return [part.decode('utf-8', 'replace') for part in request.postpath
                if part]

    # Reading

    def _get(self, request):
        route = self._route(request)
        principal = getattr(request, 'principal', None)
        # Every read of jobs goes through what this caller may see.
        service = scoped(self.service.reads, principal)
        if route == ['summary']:
            # The counts may be a second old; the workers are as of now.
            return self.summary.get().addCallback(lambda summary: dict(
                summary, workers=localWorkers(self.service,
                                              self.dispatcher)))
        if route == ['tasks']:
            return self._tasks(principal)
        if route == ['me']:
            return whoIs(principal)
        if route == ['jobs']:
            return self._jobs(request, service)
        if len(route) == 2 and route[0] == 'jobs':
            return self._read(self._job, service, _jobId(route[1]))
        if route == ['cron']:
            return self._read(views.cronView, service, time.time())
        if route == ['workers']:
            return self._read(
                views.workersView, service, self.service.routing,
                localWorkers(self.service, self.dispatcher), time.time())
        if route == ['chart']:
            span = _argument(request, 'span', 'hour')
            if span not in views.CHART_SPANS:
                raise InvalidArgument(
                    f'span must be one of {", ".join(views.CHART_SPANS)}.')
            return self.storeCall(views.chart, self.service.reads, span,
                                  time.time())
        raise NoSuchRoute(request)

    def _read(self, read, *args):
        """A Deferred of ``read(*args)``, run in a store thread and made
        JSON there (``Encoded``), within ``maxAnswerSize``."""
        return self.storeCall(_jsonWithin, self.maxAnswerSize, read, args)

    def _tasks(self, principal):
        d = describeTasks(self.service.routing, self.storeCall, self.clock)
        return d.addCallback(lambda described: dict(tasks={
            name: described[name]
            for name in mayAddTasks(principal, list(described))}))

    def _jobs(self, request, service):
        status = _argument(request, 'status')
        if status is not None and status not in set(map(str, Status)):
            raise InvalidArgument(
                f'status must be one of {", ".join(map(str, Status))}.')
        text = _argument(request, 'text')
        if text is not None and len(text) > MAX_TEXT:
            raise InvalidArgument(
                f'text may be at most {MAX_TEXT} characters long.')
        filters = dict(
            status=status, task=_argument(request, 'task'), text=text,
            before=_intArgument(request, 'before', None, 1, BEFORE_EVERY_ID),
            limit=_intArgument(request, 'limit', 50, 1, MAX_VIEW_PAGE))

        return self._read(self._page, service, filters)

    def _page(self, service, filters):
        """A page of jobs, cut before the row that would take it past
        ``maxPageSize`` bytes; ``next`` then goes on from its last row."""
        rows, cursor = service.newest(**filters)
        pieces, used = [], 0
        for row in rows:
            piece = jsonBytes(views.pageRow(row))
            if pieces and used + len(piece) > self.maxPageSize:
                cursor = rows[len(pieces) - 1]['id']
                break
            pieces.append(piece)
            used += len(piece) + 1
        return Encoded([b'{"jobs":[', b','.join(pieces), b'],"next":',
                        jsonBytes(cursor), b'}'])

    def _job(self, service, jobid):
        """Everything about a job; its largest members left out (and
        named, with their stored sizes, in ``omitted``) if it would take
        more than ``maxAnswerSize`` bytes."""
        row = service.getRow(jobid)
        # The row was read through the caller's view: the job is theirs.
        graph = self.service.reads.getDependencies(jobid)
        now = time.time()
        for room in (self.maxAnswerSize - STRUCT_OVERHEAD, 0):
            kept, omitted = fitRow(row, room)
            detail = views.jobDetail(kept, self.service.timezone, now)
            detail['dependencies'], detail['dependents'] = graph
            if omitted:
                detail['omitted'] = omitted
            body = jsonBytes(detail)
            if len(body) <= self.maxAnswerSize:
                break
        return Encoded([body])

    # Acting

    def _post(self, request):
        if getattr(request, 'tooLargeFor', None) is not None:
            raise RequestTooLarge(
                f'The request is larger than this server accepts '
                f'({request.tooLargeFor} bytes; see --max-request-size).')
        self.checkCsrf(request)
        route = self._route(request)
        principal = getattr(request, 'principal', None)
        if route in (['jobs'], ['chains'], ['groups']):
            return self._add(request, principal, route[0])
        if len(route) == 3 and route[0] == 'jobs' and route[2] in CHANGES:
            # A running job's worker is stopped by the server's cancel
            # watch, which hears of the cancel from the service.
            jobid = _jobId(route[1])
            d = self.writeCall(self.service.clientWrites.change, principal,
                               route[2], jobid)
            return d.addCallback(lambda status: dict(id=jobid,
                                                     status=str(status)))
        raise NoSuchRoute(request)

    def checkCsrf(self, request):
        """Refuse an action without the page's token, or from elsewhere."""
        if not hmac.compare_digest(request.getHeader(CSRF_HEADER) or b'',
                                   self.csrfToken):
            raise Forbidden(
                'This action needs the X-Remotetask-CSRF header of the '
                'dashboard page; reload the page and try again.')
        if isCrossSite(request):
            raise Forbidden('Actions are accepted from this site only.')

    def _add(self, request, principal, what='jobs'):
        kind = (header(request, b'content-type') or '').split(';')[0]
        if kind.strip().lower() != 'application/json':
            raise InvalidArgument('Send the job as application/json.')
        content = request.content
        content.seek(0, 2)
        read = _jobRequest if what == 'jobs' else self._stepsRequest
        if content.tell() > PARSE_INLINE:
            d = self.parseCall(read, content)
        else:
            d = defer.maybeDeferred(read, content)
        if what == 'jobs':
            d.addCallback(self._queue, principal)
            return d.addCallback(lambda jobid: (201, dict(id=jobid)))
        d.addCallback(self._queueSteps, what, principal)
        return d.addCallback(lambda ids: (201, dict(ids=ids)))

    def _queue(self, job, principal):
        task, input, keywords = job
        return self.writeCall(self.service.clientWrites.add, principal, task,
                              input, keywords)

    def _queueSteps(self, shape, what, principal):
        steps, then = shape
        if what == 'chains':
            return self.writeCall(self.service.clientWrites.addChain,
                                  principal, steps)
        return self.writeCall(self.service.clientWrites.addGroup, principal,
                              steps, then)

    def _stepsRequest(self, content):
        """``(steps, then)`` of a ``POST /api/chains`` body ``{steps}`` or
        ``/api/groups`` ``{steps, then}``, each step as XML-RPC's addChain
        takes it (then None when not given)."""
        content.seek(0)
        body = _jsonBody(content)
        if not isinstance(body, dict) or set(body) - {'steps', 'then'}:
            raise InvalidArgument('Send {"steps": [step, ...]} (and, for a '
                                  'group, "then": step).')
        steps = [list(step) for step in parseSteps(
            body.get('steps'), self.service.maxSteps)]
        then = body.get('then')
        return steps, None if then is None else list(parseStep(then))


def _jobRequest(content):
    """``(task, input, keywords)`` of a ``POST /api/jobs`` body (the file
    ``content``), checked as XML-RPC's ``add`` checks them: the options
    are the members besides task and input, as its options struct."""
    content.seek(0)
    body = _jsonBody(content)
    if not isinstance(body, dict) or not isinstance(body.get('task'),
                                                    str):
        raise InvalidArgument(
            'Send {"task": name, "input": any JSON value} and any of '
            f'the options {", ".join(MEMBERS)}.')
    keywords = parseAddOptions({name: value for name, value in body.items()
                                if name not in ('task', 'input')})
    # The job must be readable over XML-RPC too: the one input check
    # of both APIs (32-bit ints, text XML can carry).
    checkInput(body.get('input'))
    return body['task'], body.get('input'), keywords


def _jsonBody(content):
    """The JSON value of the file ``content``, read from where it is."""
    try:
        return json.loads(content.read())
    except (ValueError, UnicodeDecodeError) as error:
        raise InvalidArgument(f'The body is not valid JSON: {error}.')
    except RecursionError:
        # The parser stops cleanly at Python's recursion limit; such
        # a value could not be stored anyway (codec.MAX_DEPTH).
        raise InvalidArgument(
            'The body is nested too deeply to be read (a job\'s input '
            f'may be nested at most {MAX_DEPTH} levels).') from None


def _jsonWithin(limit, read, args):
    """In a store thread: ``read(*args)`` as a JSON answer of at most
    ``limit`` bytes."""
    try:
        value = read(*args)
        body = value if isinstance(value, Encoded) else Encoded(
            [jsonBytes(value)])
        if body.size <= limit:
            return body
        value = body = None
        raise AnswerTooLarge.over(limit)
    except RemoteTaskError as error:
        refused = error
    # Raised afresh, without the frames that read (and what they read).
    raise refused.with_traceback(None)


class NoSuchRoute(NoSuchJob):
    """There is nothing at this address of the JSON view."""

    def __init__(self, request):
        path = request.path.decode('utf-8', 'replace')
        super().__init__(f'There is nothing at {path!r}; docs/dashboard.md '
                         'lists the routes.')
