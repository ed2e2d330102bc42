"""The TaskService: the API of lovely.remotetask, on a durable store, and
the composition root of the core.

The service is synchronous, as the original was: ``getStatus(1)`` returns
``'queued'``. A legacy host calls it from its own threads; the daemon
(``remotetask.server``) calls its parts from threads it owns, and, on a
store whose commits are quick, from the reactor thread inside its
writer's transactions (``remotetask.server.pipeline.writer``), so nothing
here may wait long on anything but the store. Every method may be called
from any thread.

The service owns one object per role, each given what it needs, and
keeps the legacy methods, which delegate to them:

- ``routing`` (``TaskRouting``): which tasks it runs and accepts;
- ``reads`` (``JobReads``): jobs, pages of them, counts;
- ``writes`` (``JobWrites``): adds and changes; ``clientWrites``
  (``ClientWrites``): the same in the name of a face's caller;
- ``running`` (``JobRunning``): claiming, running and recording runs;
- ``completions`` (``CompletionCalls``): the jobs' completion calls;
- ``listeners`` (``Listeners``): who is told of adds and ends.

It reads the time from ``clock`` (an object with ``seconds()``), as does
every part it composes.
"""

from zope.interface import implementer

from remotetask.core import job as jobs, notifying, workflows
from remotetask.core.clientwrites import ClientWrites
from remotetask.core.clock import systemClock
from remotetask.core.completions import CompletionCalls
from remotetask.core.listeners import Listeners
from remotetask.core.longwrites import large, mayTakeLong
from remotetask.core.processor import ProcessingThread, SimpleProcessor
from remotetask.core.reads import JobReads
from remotetask.core.registry import TaskRegistry
from remotetask.core.routing import TaskRouting
from remotetask.core.running import JobRunning
from remotetask.core.status import CANCELLED, COMPLETED, ERROR
from remotetask.core.writes import JobWrites
from remotetask.errors import NoSuchJob
from remotetask.core.interfaces import ITaskService


@implementer(ITaskService)
class TaskService:
    """Queue jobs for named tasks, run them, and report on them.

    ``store`` keeps the jobs (an ``IJobStore``; ``remotetask.TaskService``
    makes one in memory when it is None); ``registry`` finds the tasks (a
    ``TaskRegistry`` when None); ``timezone`` is the zone cron schedules
    are read in (see the attribute); ``limits`` ({task name:
    ``remotetask.core.limits.Limit``}) replaces the concurrency and rate
    limits that tasks set themselves (a daemon's ``--limit`` and
    ``--rate``); ``clock`` (with ``seconds()``) gives now, the system's
    time when None.

    Routing: this service runs the jobs of the tasks in its registry only.
    With a store shared by several servers, ``add`` accepts a task that any
    server alive serves, and its job waits, ``queued``, until one of them
    takes it.
    """

    #: What ``startProcessing()`` runs, and with which arguments besides
    #: the service: the originals' defaults. A host sets them on the
    #: class or on a service, e.g. ``processorFactory = MultiProcessor``
    #: and ``processorArguments = {'maxThreads': 4}`` for four jobs at
    #: once (see ``remotetask.processor``).
    processorFactory = SimpleProcessor
    processorArguments = {'waitTime': 1.0}

    #: The zone cron fields are read in: a ``tzinfo`` or a zone name; None
    #: (the default) is the process's local zone. lovely.remotetask and
    #: z3c.taskqueue read them in UTC: a legacy host that wants that sets
    #: ``TaskService.timezone = 'UTC'`` once (every service that is given
    #: no zone of its own follows the class), or ``TaskService(timezone=
    #: 'UTC')`` per service. The daemon's setting is ``--timezone UTC``.
    timezone = None

    #: The processing thread is named ``THREADNAME_PREFIX.NAME``, as the
    #: originals named it, NAME being the ``__name__`` a host gave the
    #: service, else ``service``.
    THREADNAME_PREFIX = 'remotetasks'

    #: The URL prefixes jobs may ask to be told at when they end
    #: (``add(..., notify=URL)``), as ``notifying.parsePrefix`` gives
    #: them; none by default, so that every notify URL is refused. The
    #: daemon's setting is ``--notify-allow``.
    notifyAllow = ()

    #: How long after a job's end its completion call is tried (seconds).
    notifyRetryTime = notifying.RETRY_TIME

    #: How many jobs one job may wait for (``after``), and how many steps
    #: a chain or group may have: the daemon's ``--max-after`` and
    #: ``--max-steps``.
    maxAfter = workflows.MAX_AFTER
    maxSteps = workflows.MAX_STEPS

    #: Seconds between two progress reports of a run written to the store
    #: by the legacy loop (the daemon's workers have their own bounds).
    progressInterval = 1.0

    def __init__(self, store, registry=None, timezone=None, limits=None,
                 clock=None):
        self.store = store
        self.registry = TaskRegistry() if registry is None else registry
        if timezone is not None:
            self.timezone = jobs.zoneOf(timezone)
        self.limits = dict(limits or {})
        self.clock = systemClock if clock is None else clock
        # The settings above (timezone, notifyAllow, ...) are read by the
        # parts at each use, from the service or its class, where legacy
        # hosts and the daemon set them.
        self.listeners = Listeners(store)
        self.routing = TaskRouting(store, self.registry, self.limits,
                                   self.clock)
        self.reads = JobReads(store, self, self.clock)
        self.jobs = self.reads.jobs
        self.writes = JobWrites(store, self.routing, self.listeners, self,
                                self.clock)
        self.clientWrites = ClientWrites(self.writes, self.reads)
        self.running = JobRunning(store, self.routing, self.listeners, self,
                                  self.clock, self)
        self.completions = CompletionCalls(store, self.routing, self,
                                           self.clock)
        self._processing = ProcessingThread()
        self.listeners.onAdd(self._processing.wake)

    @property
    def apiTokens(self):
        """The API tokens kept beside the jobs (``IApiTokenStore``): the
        faces ask the service for them, never the store."""
        return self.store.apiTokens

    def __repr__(self):
        return f'<{type(self).__name__} {self.store!r}>'

    def getAvailableTasks(self):
        return self.registry.getAvailableTasks()

    def describeTasks(self, now=None, lastKnown=False):
        """``{name: description}`` of every task a job may be added for:
        this service's and, with a shared store, every server alive's
        (see ``TaskRouting.describeTasks``)."""
        return self.routing.describeTasks(now, lastKnown)

    def onAdd(self, callback):
        """Call ``callback()`` after every committed change that may have
        made a job claimable (see ``Listeners.onAdd``)."""
        self.listeners.onAdd(callback)

    def onEnd(self, callback):
        """Call ``callback(jobid, status)`` after a job's end is committed
        (see ``Listeners.onEnd``)."""
        self.listeners.onEnd(callback)

    # Adding jobs

    @mayTakeLong(when=large)
    def add(self, task, input=None, startLater=False, *, priority=0,
            key=None, delay=None, maxAttempts=None, notify=None,
            after=None, onFailure=None, passResults=None, owner=None):
        """Queue a job for ``task`` (one this service runs, or any server
        alive sharing its store); return its id.

        ``startLater``: wait as ``start later`` until ``startJob``.
        ``priority`` (-100 to 100, default 0): jobs with a higher one are
        claimed first. ``key``: while an unfinished job of ``task`` has
        this key, return that job's id and add nothing. ``delay``: seconds
        before it may start. ``maxAttempts``: how many times it may start,
        instead of its task's. ``notify`` (a URL under one of
        ``notifyAllow``'s prefixes): the server calls ``jobEnded(id,
        status)`` there when the job ends. ``after`` (job ids): wait,
        ``waiting``, until they have all ended; ``onFailure`` ('cancel',
        the default, or 'run') if one of them fails; ``passResults``: the
        input becomes ``{'input': input, 'results': {'id': result}}``
        (see ``remotetask.core.workflows``). ``owner``: who adds it (the
        server's caller; None for no one).
        """
        return self.writes.add(
            task, input, startLater, priority=priority, key=key,
            delay=delay, maxAttempts=maxAttempts, notify=notify, after=after,
            onFailure=onFailure, passResults=passResults, owner=owner)

    @mayTakeLong(when=large)
    def addMany(self, requests, owner=None):
        """Add jobs in one transaction; return their ids. Each request is
        ``(task, input)``, ``(task, input, startLater)`` or ``(task, input,
        options)``, ``options`` a dict of ``add``'s keyword arguments.
        Nothing is added if any of them is refused."""
        return self.writes.addMany(requests, owner)

    @mayTakeLong(when=large)
    def addEach(self, requests, owner=None):
        """Add jobs (requests as ``addMany`` takes them), the valid ones in
        one transaction; return, in order, each one's id or the
        ``RemoteTaskError`` that refused it (for ``system.multicall``)."""
        return self.writes.addEach(requests, owner)

    @mayTakeLong(when=large)
    def addChain(self, steps, owner=None):
        """Add a chain in one transaction: each step (``[task, input]``
        or ``[task, input, options]``) waits for the one before it, its
        input joined to that one's result (``passResults``); return the
        ids in order. Nothing is added if a step is refused. ``owner``:
        who adds it, as ``add`` takes it."""
        return self.writes.addChain(steps, owner)

    @mayTakeLong(when=large)
    def addGroup(self, steps, then=None, owner=None):
        """Add a group in one transaction: the steps, and ``then`` (a
        step, or None), which waits for them all with their results
        (``passResults``); return the ids in order, ``then``'s last."""
        return self.writes.addGroup(steps, then, owner)

    @mayTakeLong(when=large)
    def addCronJob(self, task, input=None, minute=(), hour=(), dayOfMonth=(),
                   month=(), dayOfWeek=(), delay=None, crontab=None,
                   misfire=jobs.ONCE, owner=None):
        """Add a job that runs on a schedule (or once after ``delay``).

        ``misfire`` says what happens to due times that passed while no
        server ran the job: ``'once'`` runs it once for all of them,
        ``'skip'`` waits for the next due time; both count them in the
        job's ``missed``. ``owner``: who adds it; its runs, on its own
        row, are its owner's too.
        """
        return self.writes.addCronJob(
            task, input, minute, hour, dayOfMonth, month, dayOfWeek, delay,
            crontab, misfire, owner)

    # Reading jobs

    def getJob(self, jobid):
        """The Job (or CronJob) ``jobid`` as it is now in the store."""
        return self.reads.getJob(jobid)

    def getStatus(self, jobid):
        return self.reads.getStatus(jobid)

    def getResult(self, jobid):
        return self.reads.getResult(jobid)

    def getError(self, jobid):
        return self.reads.getError(jobid)

    def isCancelled(self, jobid):
        """Whether ``jobid`` was cancelled: long tasks may poll this."""
        return self.reads.isCancelled(jobid)

    def findJobs(self, status=None, task=None, after=0, limit=100):
        """A page of jobs, oldest first: ``(jobs, cursor)`` (see
        ``JobReads.findJobs``)."""
        return self.reads.findJobs(status, task, after, limit)

    def newestJobs(self, status=None, task=None, before=None, limit=100):
        """A page of jobs, newest first: ``(jobs, cursor)`` (see
        ``JobReads.newestJobs``)."""
        return self.reads.newestJobs(status, task, before, limit)

    def getDependencies(self, jobid, limit=1000):
        """``(dependencies, dependents)`` of ``jobid`` (see
        ``JobReads.getDependencies``)."""
        return self.reads.getDependencies(jobid, limit)

    # Changing jobs

    def startJob(self, jobid, by=None):
        return self.writes.startJob(jobid, by)

    def cancel(self, jobid):
        """Cancel a job that has not finished, as the originals did: no
        answer, and nothing happens for a job that has finished or an id
        that has none. ``cancelJob`` says what happened."""
        try:
            self.writes.cancelJob(jobid)
        except NoSuchJob:
            pass

    def cancelJob(self, jobid, by=None):
        """Cancel a job that has not finished (a cron job: its future runs).

        A running job is marked cancelled at once and its end is not
        recorded; the daemon's process pool also stops it, and a task in a
        thread may poll ``isCancelled(jobid)``. Returns True if it was
        cancelled, False if it had finished; ``NoSuchJob`` if there is none.
        ``by``: who cancels it, for its events.
        """
        return self.writes.cancelJob(jobid, by)

    def retry(self, jobid, by=None):
        """Queue a job that ended in ``error`` again, at once, with a fresh
        count of attempts; whether it was in error."""
        return self.writes.retry(jobid, by)

    def runNow(self, jobid, now=None, by=None):
        """Make a cron or delayed job due now (not while it runs); whether
        it was such a job. ``by``: who asked, for its events."""
        return self.writes.runNow(jobid, now, by)

    def reschedule(self, jobid):
        self.writes.reschedule(jobid)

    def clean(self, stati=(CANCELLED, ERROR, COMPLETED)):
        """Remove the finished jobs in ``stati``, answering nothing, as
        the originals did; ``removeFinished`` says how many went."""
        self.writes.removeFinished(stati)

    @mayTakeLong
    def removeFinished(self, stati=(CANCELLED, ERROR, COMPLETED)):
        """Remove the finished jobs whose status is in ``stati`` (every
        finished one by default) and return how many were removed. A
        status whose jobs may still run is refused (``InvalidArgument``)."""
        return self.writes.removeFinished(stati)

    # Processing here (the daemon runs jobs through ``running``)

    def hasJobsWaiting(self, now=None):
        return self.reads.hasJobsWaiting(now)

    def processNext(self, now=None):
        return self.running.processNext(now)

    def process(self, now=None):
        self.running.process(now)

    def startProcessing(self):
        """Start processing jobs in a daemon thread of this process, with
        a processor made by ``processorFactory(self,
        **processorArguments)``; nothing happens if it already runs."""
        name = getattr(self, '__name__', None) or 'service'
        self._processing.start(
            lambda: self.processorFactory(self, **self.processorArguments),
            f'{self.THREADNAME_PREFIX}.{name}')

    def stopProcessing(self):
        """Stop processing and return once the processor's thread (and, for
        a MultiProcessor, every job it runs) has ended: the jobs in hand
        are finished first, and no other job starts."""
        self._processing.stop()

    def isProcessing(self):
        return self._processing.running
