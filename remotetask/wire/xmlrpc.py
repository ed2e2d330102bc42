"""The XML-RPC face of the TaskService.

Each ``xmlrpc_*`` method checks its arguments and delegates to the
service off the reactor thread: reads through ``storeCall`` (a pool of
store threads), writes through ``writeCall`` (the store's writer, which
commits whatever is pending in one transaction), so the reactor thread
never waits for the store. Every error a client can cause reaches it as a
``Fault`` whose code is the ``faultCode`` of a ``RemoteTaskError``
(``remotetask.errors``); the mapping is ``remotetask.wire.toFault`` and
nowhere else. Twisted's own 8001 remains for an unknown method name.

What an answer may cost is bounded: the methods that answer with stored
values write them in the store thread, within the bytes the request's
answer has left (``remotetask.wire.reading``: ``--max-answer-size`` for
the whole of a request, a multicall's calls sharing it; a page of jobs is
also cut at ``--max-page-size``). A request body larger than
``PARSE_INLINE`` bytes is parsed in a thread, not on the reactor.
"""

import inspect

from twisted.internet import defer
from twisted.logger import Logger
from twisted.web import server
from twisted.web.xmlrpc import XMLRPC, Fault

from remotetask.errors import (
    InvalidArgument, NoSuchJob, NotAllowed, NotPermitted, RemoteTaskError,
    RequestTooLarge, StoreUnavailable)
from remotetask.core.permissions import (
    byOf, checkAdd, checkAdmin, checkChange, hiddenWaits, mayAddTasks,
    ownerOf, refuseHiddenWaits, scoped, seesAll, waitedFor)
from remotetask.core.status import (
    CANCELLABLE, CRONJOB, DELAYED, ERROR, PROCESSING, STARTLATER, Status)
from remotetask.core.bounds import MAX_PAGE, MAX_STORED_INT, MAX_WAIT
from remotetask.wire.checks import SCHEDULE_FIELDS, jobId, need
from remotetask.wire.faults import toFault
from remotetask.wire import answers
from remotetask.wire import reading
from remotetask.wire.addoptions import (
    describeMembers, parseAddOptions, parseStep, parseSteps)
from remotetask.wire.marshal import Encoded, checkInput
from remotetask.wire.signatures import canonicalName
from remotetask.wire.unmarshal import parseRequest
from remotetask.wire.system import SystemHandler
from remotetask.wire.tokenmethods import TokenHandler

log = Logger()

#: The fields of getJobs' filter.
JOBS_FILTER = ('status', 'task', 'limit', 'cursor', 'newestFirst', 'before')
#: Request bodies up to this many bytes are parsed on the reactor thread
#: (a thread hop would cost more); larger ones in a thread.
PARSE_INLINE = 65536
#: The defaults of ``--max-answer-size`` and ``--max-page-size``.
MAX_ANSWER_SIZE = 16 * 1024 * 1024
MAX_PAGE_SIZE = 4 * 1024 * 1024
#: Seconds a listing of the tasks waits for a shared store before it
#: answers with the other servers' tasks as last read.
TASKS_WAIT = 1.0


class TaskServiceResource(XMLRPC):
    """Publishes the TaskService; ``system.*`` adds introspection and
    ``multicall``.

    ``storeCall`` runs reads, ``writeCall`` writes, ``parseCall`` the
    parsing of large requests (each a function of a thread pool, giving
    a Deferred); ``maxAnswerSize`` bounds a request's answer and
    ``maxPageSize`` a page of ``getJobs``. A committed change wakes the
    dispatcher through the service's events, never from here.
    """

    def __init__(self, service, storeCall, writeCall=None, waiters=None,
                 parseCall=None, maxAnswerSize=MAX_ANSWER_SIZE,
                 maxPageSize=MAX_PAGE_SIZE, clock=None):
        super().__init__(allowNone=True, useDateTime=True)
        self._signatures = {}
        self.service = service
        self.storeCall = storeCall
        self.writeCall = writeCall or storeCall
        self.parseCall = parseCall or storeCall
        self.waiters = waiters
        self.maxAnswerSize = maxAnswerSize
        self.maxPageSize = maxPageSize
        if clock is None:
            from twisted.internet import reactor as clock
        self.clock = clock
        self.putSubHandler('system', SystemHandler(self))
        self.putSubHandler('token', TokenHandler(self))

    # The HTTP side

    def render_POST(self, request):
        answers.expect(request, answers.XMLRPC)
        limit = getattr(request, 'tooLargeFor', None)
        if limit is not None:
            self._respond(toFault(RequestTooLarge(
                f'The request is larger than this server accepts '
                f'({limit} bytes; see --max-request-size).')), request)
            return server.NOT_DONE_YET
        gone = []
        caller = getattr(request, 'principal', None)
        request.notifyFinish().addErrback(gone.append)
        kind = request.getHeader('content-type')
        content = request.content
        content.seek(0, 2)
        if content.tell() > PARSE_INLINE:
            parsed = self.parseCall(_parse, content, kind)
        else:
            parsed = defer.maybeDeferred(_parse, content, kind)
        parsed.addCallbacks(self._call, _notXmlRpc, callbackArgs=(caller,))
        parsed.addBoth(self._respond, request, gone)
        return server.NOT_DONE_YET

    def _call(self, parsed, caller):
        args, name, sendable = parsed
        return self.callMethod(name, args, checked=sendable, caller=caller)

    def _respond(self, result, request, gone=()):
        # The one path every answer takes (remotetask.wire.answers).
        answers.send(result, request, answers.XMLRPC, gone)

    def callMethod(self, name, args, budget=None, checked=False,
                   caller=None):
        """Call the method ``name``; a Deferred of its result or Fault.
        ``budget`` (a ``reading.AnswerBudget``): what the answer has left,
        for a call in a multicall. ``checked``: the parser found only
        values XML-RPC can send back in the request, so the methods need
        not walk their inputs again (``checkInput``). ``caller``: the
        request's ``Principal`` (None on an open server), for the methods
        to decide by (``remotetask.core.permissions``)."""
        if not isinstance(name, str):
            return defer.succeed(toFault(InvalidArgument(
                'The method name must be a string.')))
        try:
            function = self.lookupProcedure(name)
        except Fault as fault:
            return defer.succeed(fault)
        arity = self._signatures.get(name)
        if arity is None:
            arity = self._signatures[name] = _arity(function)
        names, least, signature, extra = arity
        if not least <= len(args) <= len(names):
            error = (f"missing a required argument: '{names[len(args)]}'"
                     if len(args) < least else
                     'too many positional arguments')
            return defer.succeed(toFault(InvalidArgument(
                f'{name}{signature}: {error}.')))
        given = dict(budget=budget, checked=checked, caller=caller)
        d = defer.maybeDeferred(function, *args, **{
            keyword: given[keyword] for keyword in extra})
        d.addErrback(self._failed, name)
        return d

    def _failed(self, failure, name):
        if not isinstance(failure.value, (Fault, RemoteTaskError)):
            log.failure('{name} failed', failure, name=name)
        return toFault(failure.value)

    # The methods

    def lookupProcedure(self, procedurePath):
        """The method ``procedurePath`` names; ``listMethods``,
        ``methodHelp`` and ``methodSignature`` name the ``system.`` ones,
        as with Zope."""
        return super().lookupProcedure(canonicalName(procedurePath))

    def _read(self, budget, caller, read, *args):
        """A Deferred of ``read(service, limit, *args)``, run in a store
        thread and written there as XML-RPC (``Encoded``) within
        ``limit``: what ``budget`` has left, or ``maxAnswerSize``. The
        service is what ``caller`` may see of it."""
        limit = self.maxAnswerSize if budget is None else budget.left
        return self.storeCall(_readEncoded, scoped(self.service, caller),
                              read, limit, args)

    def _own(self, caller, jobid):
        """A Deferred that fails with ``NoSuchJob`` unless ``caller`` may
        see job ``jobid`` (at once for whoever sees every job)."""
        if seesAll(caller):
            return defer.succeed(None)
        return self.storeCall(scoped(self.service, caller).getRow, jobid)

    def _describeTasks(self, caller=None):
        d = describeTasks(self.service, self.storeCall, self.clock)
        if seesAll(caller):
            return d
        return d.addCallback(lambda tasks: {
            name: tasks[name] for name in mayAddTasks(caller, list(tasks))})

    def xmlrpc_getAvailableTasks(self, *, caller=None):
        """Return the names of the tasks a job may be added for, sorted (an
        array of strings): this server's and, with a shared store, those of
        every server alive; getTaskDescriptions describes them."""
        return self._describeTasks(caller).addCallback(list)

    def xmlrpc_getTaskDescriptions(self, *, caller=None):
        """Return a struct: task name -> one-line description, for every
        task getAvailableTasks lists."""
        return self._describeTasks(caller)

    def xmlrpc_add(self, task, input=None, options=False, *,
                   checked=False, caller=None):
        """Queue a job for task with input; return its id (an int).

        options is either startLater (true: the job waits as 'start later'
        until startJob) or a struct with any of:
        {members}
        """
        need('The task name', task, str)
        keywords = parseAddOptions(options)
        if not checked:
            checkInput(input)
        checkAdd(caller, task)
        d = self._checkWaits(caller, [keywords])
        return d.addCallback(lambda _: self.writeCall(
            self.service.add, task, input, owner=ownerOf(caller),
            **keywords))

    def _checkWaits(self, caller, keywordsList):
        """Fails with ``NoSuchJob``, as for an unknown id, if an add's
        ``after`` names a job ``caller`` may not see."""
        ids = waitedFor(keywordsList)
        if seesAll(caller) or not ids:
            return defer.succeed(None)
        return self.storeCall(refuseHiddenWaits, self.service, caller, ids)

    xmlrpc_add.__doc__ = xmlrpc_add.__doc__.format(
        members=describeMembers().replace('\n', '\n        '))

    def xmlrpc_addChain(self, steps, *, checked=False, caller=None):
        """Add a chain of jobs in one transaction; return their ids. Each
        step ([task, input], [task, input, options] or a struct {task,
        input, options}) waits for the one before it, 'waiting', and gets
        its result (options pass, onFailure: see add)."""
        parsed = [list(step) for step in parseSteps(
            steps, self.service.maxSteps, checked)]
        return self._addShape(caller, parsed, self.service.addChain, parsed)

    def xmlrpc_addGroup(self, steps, then=None, *, checked=False,
                        caller=None):
        """Add a group of jobs in one transaction, and then (a step, as
        addChain takes them), which waits for them all and gets their
        results; return their ids, then's last."""
        parsed = [list(step) for step in parseSteps(
            steps, self.service.maxSteps, checked)]
        then = None if then is None else list(parseStep(then, checked))
        return self._addShape(caller, parsed + [then] * (then is not None),
                              self.service.addGroup, parsed, then)

    def _addShape(self, caller, steps, add, *args):
        """``add(*args)`` (a chain or a group of ``steps``), refused
        unless ``caller`` may add each step's task and see the jobs they
        wait for; the jobs are ``caller``'s."""
        for task, _, _ in steps:
            checkAdd(caller, task)
        d = self._checkWaits(caller, [keywords for _, _, keywords in steps])
        return d.addCallback(lambda _: self.writeCall(
            add, *args, owner=ownerOf(caller)))

    @defer.inlineCallbacks
    def addEach(self, requests, checked=False, caller=None):
        """For system.multicall: ``service.addEach`` with each input and
        options checked as ``add`` checks them (the inputs only unless
        ``checked``); the answers, in order, an id or the error that
        refused that add. ``requests`` are ``(task, input, options)``."""
        refused, valid = {}, []
        for index, (task, input, options) in enumerate(requests):
            try:
                keywords = parseAddOptions(options)
                if not checked:
                    checkInput(input)
                checkAdd(caller, task)
            except (InvalidArgument, NotPermitted) as error:
                refused[index] = error
            else:
                valid.append((index, (task, input, keywords)))
        waited = waitedFor(keywords for _, (_, _, keywords) in valid)
        hidden = set()
        if waited and not seesAll(caller):
            hidden = set((yield self.storeCall(
                hiddenWaits, self.service, caller, waited)))
        for index, (_, _, keywords) in valid:
            unseen = sorted(hidden.intersection(keywords.get('after') or ()))
            if unseen:
                refused[index] = NoSuchJob.withId(unseen[0])
        answers = iter((yield self.writeCall(
            self.service.addEach,
            [request for index, request in valid if index not in refused],
            ownerOf(caller))))
        return [refused[index] if index in refused else next(answers)
                for index in range(len(requests))]

    @defer.inlineCallbacks
    def xmlrpc_addAndWait(self, task, input=None, timeout=10, options=None,
                          *, budget=None, checked=False, caller=None):
        """Add a job, wait until it has ended (at most timeout seconds, up
        to 60), and return its struct as getJob does: one round trip for
        "run this and give me the answer". A job still running at the
        timeout comes back with its status then. options is a struct as
        add takes it (or startLater, a boolean)."""
        need('The task name', task, str)
        keywords = {} if options is None else parseAddOptions(options)
        if not checked:
            checkInput(input)
        self._checkTimeout(timeout)
        checkAdd(caller, task)
        yield self._checkWaits(caller, [keywords])
        jobid = yield self.writeCall(self.service.add, task, input,
                                    owner=ownerOf(caller), **keywords)
        yield self.waiters.wait(jobid, timeout)
        return (yield self._read(budget, caller, reading.readJob, jobid))

    def xmlrpc_addCronJob(self, task, input=None, schedule=None, *,
                          checked=False, caller=None):
        """Add a job that runs on a schedule; return its id.

        schedule is a struct with any of minute, hour, dayOfMonth, month,
        dayOfWeek (arrays of ints; dayOfWeek 0 = Monday), or crontab (a
        crontab string), or delay (seconds, for one run); and misfire,
        'once' (default) or 'skip', for due times missed while no server
        ran the job.
        """
        need('The task name', task, str)
        schedule = need('schedule', schedule or {}, dict)
        unknown = set(schedule) - set(SCHEDULE_FIELDS) - {
            'crontab', 'delay', 'misfire'}
        if unknown:
            raise InvalidArgument(
                f'schedule has unknown fields: {", ".join(sorted(unknown))}'
                f' (known: {", ".join(SCHEDULE_FIELDS)}, crontab, delay, '
                'misfire).')
        if 'misfire' in schedule:
            need('misfire', schedule['misfire'], str)
        for name in SCHEDULE_FIELDS:
            need(name, schedule.get(name, []), list)
        if not checked:
            checkInput(input)
        checkAdmin(caller, 'adding a cron job')
        return self.writeCall(self.service.addCronJob, task, input,
                              owner=ownerOf(caller), **schedule)

    def xmlrpc_startJob(self, jobid, *, caller=None):
        """Queue a 'start later' job; return true."""
        return self._change(caller, 'starting', self.writeCall,
                            self.service.startJob, jobid, 'started',
                            {STARTLATER})

    def xmlrpc_cancel(self, jobid, *, caller=None):
        """Cancel a job that has not finished (a running one is stopped; a
        cron job runs no more); return true."""
        return self._change(caller, 'cancelling', self.writeCall,
                            self.service.cancelJob, jobid, 'cancelled',
                            CANCELLABLE | {PROCESSING})

    def xmlrpc_retry(self, jobid, *, caller=None):
        """Queue a job that ended in error again, at once, with a fresh
        count of attempts; return true."""
        return self._change(caller, 'retrying', self.writeCall,
                            self.service.retry, jobid, 'retried', {ERROR})

    def xmlrpc_runNow(self, jobid, *, caller=None):
        """Make a cron or delayed job due now (its schedule goes on
        after); return true."""
        return self._change(caller, 'running now', self.writeCall,
                            self.service.runNow, jobid, 'run now',
                            {CRONJOB, DELAYED})

    @defer.inlineCallbacks
    def _change(self, caller, doing, writing, change, jobid, action,
                allowed):
        """True once ``change(jobid)`` changed the job, in the name of
        ``caller`` (who must be allowed to be ``doing`` it, and see the
        job); else NotAllowed saying its status and the statuses that
        allow ``action``."""
        checkChange(caller, f'{doing} job {jobid!r}')
        jobid = jobId(jobid)
        yield self._own(caller, jobid)
        changed = yield writing(change, jobid, by=byOf(caller))
        if not changed:
            status = yield self.storeCall(self.service.getStatus, jobid)
            raise NotAllowed.inStatus(jobid, status, action, allowed)
        return True

    def xmlrpc_getStatus(self, jobid, *, caller=None):
        """Return the job's status as a string."""
        d = self.storeCall(scoped(self.service, caller).getStatus,
                           jobId(jobid))
        return d.addCallback(str)

    def xmlrpc_getResult(self, jobid, *, budget=None, caller=None):
        """Return the job's result; nil until it has one."""
        return self._read(budget, caller, reading.readResult, jobId(jobid))

    def xmlrpc_getError(self, jobid, *, budget=None, caller=None):
        """Return the job's error message; nil if it has none."""
        return self._read(budget, caller, reading.readError, jobId(jobid))

    def xmlrpc_getJob(self, jobid, *, budget=None, caller=None):
        """Return a struct with every field of the job that has a value
        (members without one, such as error, are left out; members too
        large to send are left out and named in omitted)."""
        return self._read(budget, caller, reading.readJob, jobId(jobid))

    def xmlrpc_getJobs(self, filter=None, *, budget=None, caller=None):
        """Return a page of jobs: {jobs: [struct], cursor: int}.

        filter may hold status, task, limit (default 100, at most 1000)
        and cursor (from the previous page); no cursor: no more pages.
        With newestFirst true the newest come first, and the next page
        is asked for with before (the previous page's cursor), not
        cursor; such a page may be short and still have a cursor.
        Members without a value are left out of each job's struct. A page
        is also cut by size; its cursor goes on from its last job.
        """
        filter = need('filter', filter or {}, dict)
        unknown = set(filter) - set(JOBS_FILTER)
        if unknown:
            raise InvalidArgument(
                f'filter has unknown fields: {", ".join(sorted(unknown))} '
                f'(known: {", ".join(JOBS_FILTER)}).')
        limit = need('limit', filter.get('limit', 100), int)
        if not 1 <= limit <= MAX_PAGE:
            raise InvalidArgument(f'limit must be from 1 to {MAX_PAGE}.')
        newestFirst = need('newestFirst', filter.get('newestFirst', False),
                           bool)
        paging, wrong, order = (('before', 'cursor', 'newest') if newestFirst
                                else ('cursor', 'before', 'oldest'))
        if wrong in filter:
            raise InvalidArgument(
                f'{wrong} does not page {order} first; give the previous '
                f"page's cursor as {paging}.")
        start = need(paging, filter.get(paging, 0), int)
        if not 0 <= start <= MAX_STORED_INT:
            raise InvalidArgument(
                f'{paging} must be the cursor of a previous page, or 0.')
        status = filter.get('status')
        task = filter.get('task')
        if status is not None:
            need('status', status, str)
            if status not in set(Status):
                raise InvalidArgument(
                    f'status {status[:40]!r} is none of '
                    f'{", ".join(sorted(Status))}.')
        if task is not None:
            need('task', task, str)

        fetch = (reading.newestFirst(status, task) if newestFirst else
                 reading.oldestFirst(status, task))
        return self._read(budget, caller, reading.readPage,
                          self.maxPageSize, limit, fetch, start)

    def xmlrpc_clean(self, statuses=None, *, caller=None):
        """Remove finished jobs (completed, error, cancelled by default, or
        the statuses given); return how many were removed."""
        checkAdmin(caller, 'cleaning finished jobs')
        if statuses is None:
            return self.writeCall(self.service.removeFinished)
        need('statuses', statuses, list)
        for status in statuses:
            need('Each status', status, str)
        return self.writeCall(self.service.removeFinished, statuses)

    def xmlrpc_wait(self, jobid, timeout=10, *, caller=None):
        """Wait until the job is finished, at most timeout seconds (up to
        60); return its status then."""
        self._checkTimeout(timeout)
        d = self._own(caller, jobId(jobid))
        d.addCallback(lambda _: self.waiters.wait(jobid, timeout))
        return d.addCallback(str)

    @staticmethod
    def _checkTimeout(timeout):
        need('timeout', timeout, int, float)
        if not 0 <= timeout <= MAX_WAIT:
            raise InvalidArgument(
                f'timeout must be from 0 to {MAX_WAIT} seconds.')


def _arity(function):
    """``(names, least, signature, extra)``: the positional parameters
    of ``function``, how many are required, and which of the keywords
    ``budget``, ``checked`` and ``caller`` it takes, read once per method
    (binding a signature at every call costs more than the rest of the
    argument checks)."""
    signature = inspect.signature(function)
    positional = [parameter for parameter in signature.parameters.values()
                  if parameter.kind in (parameter.POSITIONAL_ONLY,
                                        parameter.POSITIONAL_OR_KEYWORD)]
    least = sum(1 for parameter in positional
                if parameter.default is parameter.empty)
    extra = [name for name in ('budget', 'checked', 'caller')
             if name in signature.parameters]
    # As a caller sees it: the server's own keywords are not arguments.
    shown = signature.replace(parameters=positional)
    return [parameter.name for parameter in positional], least, shown, extra


def describeTasks(service, storeCall, clock, wait=TASKS_WAIT):
    """A Deferred of ``service.describeTasks()`` that answers whatever the
    store does: at once on a store this server holds alone (its tasks
    were imported at start); from a shared store, which knows the other
    servers' tasks, if it answers within ``wait`` seconds, else (or if it
    is unavailable) with the other servers' tasks as last read."""
    if service.knowsAllTasks():
        return defer.succeed(service.describeTasks())
    d = storeCall(service.describeTasks)
    d.addTimeout(wait, clock)

    def lastKnown(failure):
        failure.trap(defer.TimeoutError, StoreUnavailable)
        return service.describeTasks(lastKnown=True)
    return d.addErrback(lastKnown)


def _parse(content, kind):
    """``(params, methodName)`` of a request's body (``content``, a file),
    sent with the Content-Type ``kind``."""
    content.seek(0, 0)
    return parseRequest(content.read(), kind)


def _notXmlRpc(failure):
    return toFault(InvalidArgument(
        f'The request is not valid XML-RPC: {failure.value}'))


def _readEncoded(service, read, limit, args):
    """In a store thread: ``read(service, limit, *args)`` written as
    XML-RPC within ``limit`` bytes."""
    try:
        value = read(service, limit, *args)
        if isinstance(value, Encoded):
            return value
        return reading.encodeWithin(value, limit)
    except RemoteTaskError as error:
        refused = error
    # Raised afresh: the traceback of the first raise holds the frames
    # that read, and with them what they read (a result, a row), which
    # would stay in memory for as long as the Failure carrying it.
    raise refused.with_traceback(None)
