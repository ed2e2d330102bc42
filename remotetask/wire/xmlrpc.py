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
also cut at ``--max-page-size``). A large request body is parsed in a
thread, not on the reactor (``remotetask.wire.calls``).
"""

from twisted.internet import defer

from remotetask.errors import (
    InvalidArgument, NotPermitted, RemoteTaskError, StoreUnavailable)
from remotetask.core.permissions import (
    checkAdmin, mayAddTasks, ownerOf, scoped, seesAll)
from remotetask.core.status import Status
from remotetask.core.bounds import MAX_PAGE, MAX_STORED_INT, MAX_WAIT
from remotetask.wire.checks import SCHEDULE_FIELDS, jobId, need
from remotetask.wire import reading
from remotetask.wire.addoptions import (
    describeMembers, parseAddOptions, parseStep, parseSteps)
from remotetask.wire.carried import checkInput
from remotetask.wire.marshal import Encoded
from remotetask.wire.calls import CallingResource
from remotetask.wire.system import SystemHandler
from remotetask.wire.tokenmethods import TokenHandler

#: The fields of getJobs' filter.
JOBS_FILTER = ('status', 'task', 'limit', 'cursor', 'newestFirst', 'before')
#: The defaults of ``--max-answer-size`` and ``--max-page-size``.
MAX_ANSWER_SIZE = 16 * 1024 * 1024
MAX_PAGE_SIZE = 4 * 1024 * 1024
#: Seconds a listing of the tasks waits for a shared store before it
#: answers with the other servers' tasks as last read.
TASKS_WAIT = 1.0


class TaskServiceResource(CallingResource):
    """Publishes the TaskService; ``system.*`` adds introspection and
    ``multicall``.

    ``storeCall`` runs reads, ``writeCall`` writes, ``parseCall`` the
    parsing of large requests (each a function of a thread pool, giving
    a Deferred); ``maxAnswerSize`` bounds a request's answer and
    ``maxPageSize`` a page of ``getJobs``. The writes go through the
    service's ``clientWrites``, in the caller's name, as the JSON view's
    do; a committed change wakes the dispatcher through the service's
    listeners, never from here.
    """

    def __init__(self, service, storeCall, writeCall=None, waiters=None,
                 parseCall=None, maxAnswerSize=MAX_ANSWER_SIZE,
                 maxPageSize=MAX_PAGE_SIZE, clock=None):
        super().__init__(parseCall or storeCall)
        self.service = service
        self.storeCall = storeCall
        self.writeCall = writeCall or storeCall
        self.waiters = waiters
        self.maxAnswerSize = maxAnswerSize
        self.maxPageSize = maxPageSize
        if clock is None:
            from twisted.internet import reactor as clock
        self.clock = clock
        self.putSubHandler('system', SystemHandler(self))
        self.putSubHandler('token', TokenHandler(self))

    # The methods

    def _read(self, budget, caller, read, *args):
        """A Deferred of ``read(service, limit, *args)``, run in a store
        thread and written there as XML-RPC (``Encoded``) within
        ``limit``: what ``budget`` has left, or ``maxAnswerSize``. The
        reads are what ``caller`` may see of the service's."""
        limit = self.maxAnswerSize if budget is None else budget.left
        return self.storeCall(_readEncoded,
                              scoped(self.service.reads, caller), read,
                              limit, args)

    def _own(self, caller, jobid):
        """A Deferred that fails with ``NoSuchJob`` unless ``caller`` may
        see job ``jobid`` (at once for whoever sees every job)."""
        if seesAll(caller):
            return defer.succeed(None)
        return self.storeCall(scoped(self.service.reads, caller).getRow,
                              jobid)

    def _describeTasks(self, caller=None):
        d = describeTasks(self.service.routing, self.storeCall, self.clock)
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
        return self.writeCall(self.service.clientWrites.add, caller, task,
                              input, keywords)

    xmlrpc_add.__doc__ = xmlrpc_add.__doc__.format(
        members=describeMembers().replace('\n', '\n        '))

    def xmlrpc_addChain(self, steps, *, checked=False, caller=None):
        """Add a chain of jobs in one transaction; return their ids. Each
        step ([task, input], [task, input, options] or a struct {task,
        input, options}) waits for the one before it, 'waiting', and gets
        its result (options pass, onFailure: see add)."""
        parsed = [list(step) for step in parseSteps(
            steps, self.service.maxSteps, checked)]
        return self.writeCall(self.service.clientWrites.addChain, caller,
                              parsed)

    def xmlrpc_addGroup(self, steps, then=None, *, checked=False,
                        caller=None):
        """Add a group of jobs in one transaction, and then (a step, as
        addChain takes them), which waits for them all and gets their
        results; return their ids, then's last."""
        parsed = [list(step) for step in parseSteps(
            steps, self.service.maxSteps, checked)]
        then = None if then is None else list(parseStep(then, checked))
        return self.writeCall(self.service.clientWrites.addGroup, caller,
                              parsed, then)

    def addEach(self, requests, checked=False, caller=None):
        """For system.multicall: ``clientWrites.addEach`` with each input
        and options checked as ``add`` checks them (the inputs only unless
        ``checked``); a Deferred of the answers, in order, an id or the
        error that refused that add. ``requests`` are ``(task, input,
        options)``."""
        parsed = []
        for task, input, options in requests:
            try:
                keywords = parseAddOptions(options)
                if not checked:
                    checkInput(input)
            except (InvalidArgument, NotPermitted) as error:
                parsed.append(error)
            else:
                parsed.append((task, input, keywords))
        return self.writeCall(self.service.clientWrites.addEach, caller,
                              parsed)

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
        jobid = yield self.writeCall(self.service.clientWrites.add, caller,
                                     task, input, keywords)
        # Without options the job is a new one (not a key's, nor born
        # ended by a workflow), and this runs as its add is answered.
        yield self.waiters.wait(jobid, timeout, fresh=options is None)
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
        return self.writeCall(self.service.writes.addCronJob, task, input,
                              owner=ownerOf(caller), **schedule)

    def xmlrpc_startJob(self, jobid, *, caller=None):
        """Queue a 'start later' job; return true."""
        return self._change(caller, 'start', jobid)

    def xmlrpc_cancel(self, jobid, *, caller=None):
        """Cancel a job that has not finished (a running one is stopped; a
        cron job runs no more); return true."""
        return self._change(caller, 'cancel', jobid)

    def xmlrpc_retry(self, jobid, *, caller=None):
        """Queue a job that ended in error again, at once, with a fresh
        count of attempts; return true."""
        return self._change(caller, 'retry', jobid)

    def xmlrpc_runNow(self, jobid, *, caller=None):
        """Make a cron or delayed job due now (its schedule goes on
        after); return true."""
        return self._change(caller, 'run', jobid)

    def _change(self, caller, action, jobid):
        """True once the change ``action`` (``clientWrites.CHANGES``) was
        made to the job, in the name of ``caller``; NotAllowed if its
        status does not allow it."""
        d = self.writeCall(self.service.clientWrites.change, caller, action,
                           jobId(jobid))
        return d.addCallback(lambda _: True)

    def xmlrpc_getStatus(self, jobid, *, caller=None):
        """Return the job's status as a string."""
        d = self.storeCall(scoped(self.service.reads, caller).getStatus,
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
            return self.writeCall(self.service.writes.removeFinished)
        need('statuses', statuses, list)
        for status in statuses:
            need('Each status', status, str)
        return self.writeCall(self.service.writes.removeFinished, statuses)

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


def describeTasks(routing, storeCall, clock, wait=TASKS_WAIT):
    """A Deferred of ``routing.describeTasks()`` (a service's
    ``TaskRouting``) that answers whatever the store does: at once on a
    store this server holds alone (its tasks were imported at start);
    from a shared store, which knows the other servers' tasks, if it
    answers within ``wait`` seconds, else (or if it is unavailable) with
    the other servers' tasks as last read."""
    if routing.knowsAllTasks():
        return defer.succeed(routing.describeTasks())
    d = storeCall(routing.describeTasks)
    d.addTimeout(wait, clock)

    def lastKnown(failure):
        failure.trap(defer.TimeoutError, StoreUnavailable)
        return routing.describeTasks(lastKnown=True)
    return d.addErrback(lastKnown)


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
