"""The TaskService: the API of lovely.remotetask, on a durable store.

The service is synchronous, as the original was: ``getStatus(1)`` returns
``'queued'``. The server (``remotetask.server``) calls it from threads it
owns, never from the reactor thread. Every method may be called from any
thread.
"""

import collections.abc
import time

from zope.interface import implementer

from remotetask.core import codec, events, job as jobs, notifying
from remotetask.core import workflows
from remotetask.core.entries import newEntry
from remotetask.core.longwrites import large, mayTakeLong
from remotetask.core.processor import ProcessingThread, SimpleProcessor
from remotetask.core.registry import TaskRegistry
from remotetask.core.routing import TaskRouting
from remotetask.core.running import JobRunning
from remotetask.core.shapes import WaitingAdds
from remotetask.core.status import (
    CANCELLABLE, CANCELLED, COMPLETED, ERROR, FINISHED, PROCESSING, QUEUED,
    STARTLATER, Status)
from remotetask.errors import (
    InvalidArgument, NoSuchJob, NotAllowed, RemoteTaskError)
from remotetask.interfaces import ITaskService
from remotetask.store.sqlite import MEMORY, SQLiteJobStore


class JobsView(collections.abc.Mapping):
    """``service.jobs``: a read-only mapping id -> Job over the store.

    Each access reads the store; iterating pages through the ids, so a
    store of a million jobs is never loaded at once.
    """

    pageSize = 1000

    def __init__(self, service):
        self._service = service

    def __getitem__(self, jobid):
        return self._service.getJob(jobid)

    def __iter__(self):
        after = 0
        while True:
            page = self._service.store.ids(after=after, limit=self.pageSize)
            yield from page
            if len(page) < self.pageSize:
                return
            after = page[-1]

    def __len__(self):
        return self._service.store.count()

    def __contains__(self, jobid):
        try:
            self._service.store.get(jobid)
        except KeyError:
            return False
        return True


@implementer(ITaskService)
class TaskService(TaskRouting, JobRunning, WaitingAdds):
    """Queue jobs for named tasks, run them, and report on them.

    ``store`` keeps the jobs (in memory when None); ``registry`` finds the
    tasks (a ``TaskRegistry`` when None); ``timezone`` is the zone cron
    schedules are read in (see the attribute); ``limits`` ({task name:
    ``remotetask.core.limits.Limit``}) replaces the concurrency and rate
    limits that tasks set themselves (a daemon's ``--limit`` and
    ``--rate``).

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

    def __init__(self, store=None, registry=None, timezone=None,
                 limits=None):
        self.store = SQLiteJobStore(MEMORY) if store is None else store
        self.registry = TaskRegistry() if registry is None else registry
        if timezone is not None:
            self.timezone = jobs.zoneOf(timezone)
        self.limits = dict(limits or {})
        self.jobs = JobsView(self)
        self._initListeners()
        self._processing = ProcessingThread()
        self.onAdd(self._processing.wake)
        watch = getattr(self.store, 'watchWaits', None)
        if watch is not None:
            watch(self._waitsChanged)

    @property
    def apiTokens(self):
        """The API tokens kept beside the jobs (``IApiTokenStore``): the
        faces ask the service for them, never the store."""
        return self.store.apiTokens

    def __repr__(self):
        return f'<{type(self).__name__} {self.store!r}>'

    # Tasks

    def getAvailableTasks(self):
        return self.registry.getAvailableTasks()

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
        if (after, onFailure, passResults) != (None, None, None):
            return self.addMany([(task, input, dict(
                startLater=startLater, priority=priority, key=key,
                delay=delay, maxAttempts=maxAttempts, notify=notify,
                after=after, onFailure=onFailure,
                passResults=passResults))], owner=owner)[0]
        now = time.time()
        self._checkTask(task)
        entry = newEntry(task, input, now, startLater, priority=priority,
                         key=key, delay=delay, maxAttempts=maxAttempts,
                         notify=self._checkNotify(notify))
        jobid = self.store.add(
            task, entry.input, entry.status, None, now,
            priority=entry.priority, key=entry.key, due=entry.due,
            maxAttempts=entry.maxattempts, notify=entry.notify,
            event=self._addedEvent(now, owner), owner=owner)
        if entry.status == QUEUED:
            self._added()
        return jobid

    def _checkNotify(self, notify):
        if notify is not None:
            notifying.checkURL(notify, self.notifyAllow)
        return notify

    def _addedEvent(self, now, owner=None):
        return events.make(events.ADDED, now, self.serverName, by=owner)

    def _entry(self, request, now, served, owner=None):
        return self._checked(workflows.plan(
            request, now, maxAfter=self.maxAfter), served, owner)

    @mayTakeLong(when=large)
    def addMany(self, requests, owner=None):
        """Add jobs in one transaction; return their ids. Each request is
        ``(task, input)``, ``(task, input, startLater)`` or ``(task, input,
        options)``, ``options`` a dict of ``add``'s keyword arguments.
        Nothing is added if any of them is refused."""
        now, served = time.time(), {}
        entries = [self._entry(request, now, served, owner)
                   for request in requests]
        return self._store(entries, now, owner=owner)

    def _store(self, entries, now, refused=None, owner=None):
        """Add the planned ``entries`` (``workflows.storePlanned``)."""
        ids = workflows.storePlanned(self, entries, now,
                                     self._addedEvent(now, owner), refused) \
            if entries else []
        if any(jobid is not None for jobid in ids):
            self._added()
        return ids

    @mayTakeLong(when=large)
    def addEach(self, requests, owner=None):
        """Add jobs (requests as ``addMany`` takes them), the valid ones in
        one transaction; return, in order, each one's id or the
        ``RemoteTaskError`` that refused it (for ``system.multicall``)."""
        now, served = time.time(), {}
        results, entries, slots = [], [], []
        for request in requests:
            try:
                entries.append(self._entry(request, now, served, owner))
            except RemoteTaskError as error:
                results.append(error)
            else:
                slots.append(len(results))
                results.append(None)
        refused = {}
        for index, jobid in enumerate(
                self._store(entries, now, refused, owner)):
            results[slots[index]] = refused.get(index, jobid)
        return results

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
        self._checkTask(task)
        job = jobs.CronJob(None, task, input, minute=minute, hour=hour,
                           dayOfMonth=dayOfMonth, month=month,
                           dayOfWeek=dayOfWeek, delay=delay, crontab=crontab,
                           misfire=misfire)
        now = time.time()
        jobid = self.store.add(task, codec.encode(input, 'input'),
                               job.status, jobs.encodeSchedule(job), now,
                               event=self._addedEvent(now, owner),
                               owner=owner)
        self._added()
        return jobid

    # Reading jobs

    def getJob(self, jobid):
        """The Job (or CronJob) ``jobid`` as it is now in the store."""
        return jobs.fromRow(self.store.get(jobid), store=self.store,
                            timezone=self.timezone)

    def getStatus(self, jobid):
        return Status(self.store.get(jobid)['status'])

    def getResult(self, jobid):
        return codec.decode(self.store.get(jobid)['output'])

    def getError(self, jobid):
        return self.store.get(jobid)['error']

    def findJobs(self, status=None, task=None, after=0, limit=100):
        """A page of jobs, oldest first: ``(jobs, cursor)``, with up to
        ``limit`` Jobs whose id is above ``after``; ``cursor`` is the
        ``after`` of the next page, None when this one was not full."""
        rows = self.store.find(status=status, task=task, after=after,
                               limit=limit)
        cursor = rows[-1]['id'] if len(rows) == limit else None
        return [jobs.fromRow(row, store=self.store, timezone=self.timezone)
                for row in rows], cursor

    def newestJobs(self, status=None, task=None, before=None, limit=100):
        """A page of jobs, newest first: ``(jobs, cursor)``, with up to
        ``limit`` Jobs whose id is below ``before`` (any id when None);
        ``cursor`` is the ``before`` of the next page, None when there is
        none. Paged by ``IJobStore.newest``, so every page costs the same
        at any depth; with both ``status`` and ``task`` a page may be
        short, or empty, and still have a cursor."""
        rows, cursor = self.store.newest(status=status, task=task,
                                         before=before, limit=limit)
        return self._jobsOf(row['id'] for row in rows), cursor

    def _jobsOf(self, ids):
        """The Jobs of ``ids`` (a page's previews hold cut inputs), less
        any removed since they were listed."""
        found = []
        for jobid in ids:
            try:
                found.append(self.getJob(jobid))
            except NoSuchJob:
                pass
        return found

    # Looking, for the dashboard and /metrics: rows as the store keeps
    # them (IJobStore), read in one call each.

    def getRow(self, jobid):
        """The store's row of ``jobid`` (``NoSuchJob`` if none)."""
        return self.store.get(jobid)

    def findRows(self, status=None, task=None, after=0, limit=100,
                 owner=None):
        """The rows ``findJobs`` would make into jobs (with ``owner``,
        only those it added)."""
        return self.store.find(status=status, task=task, after=after,
                               limit=limit, owner=owner)

    def newest(self, status=None, task=None, text=None, before=None,
               limit=50, scan=10000, owner=None):
        """A page of job previews, newest first: ``(rows, cursor)`` (see
        ``IJobStore.newest``)."""
        return self.store.newest(status=status, task=task, text=text,
                                 before=before, limit=limit, scan=scan,
                                 owner=owner)

    def counts(self):
        """How many jobs there are of each status and task."""
        return self.store.counts()

    def oldestQueued(self, now=None):
        """Since when the oldest queued job that is due has waited."""
        return self.store.oldestQueued(time.time() if now is None else now)

    def minutes(self, since):
        """The per-minute counters from the minute ``since`` on (epoch
        seconds // 60), summed over the servers: ``[{minute, finished,
        failed, queued}]``, for the dashboard's chart."""
        return self.store.minutes(since)

    @mayTakeLong
    def sampleQueue(self, now=None):
        """Record the queue's depth now in this minute's counters."""
        now = time.time() if now is None else now
        self.store.sampleQueue(int(now // 60), self.serverName)

    @property
    def serverId(self):
        """This server's name in a store shared by several, else None."""
        return getattr(self.store, 'serverId', None)

    @property
    def serverName(self):
        """Who did it, in a job's events and the counters: the
        ``serverId`` on a shared store, else ``host:pid``."""
        return self.serverId or events.serverName()

    def servers(self):
        """The servers sharing the store (``[{id, heartbeat, running}]``),
        or None for a store that one server holds."""
        listed = getattr(self.store, 'servers', None)
        return None if listed is None else listed()

    # Changing jobs

    def startJob(self, jobid, by=None):
        changed = self.store.transition(
            jobid, {STARTLATER}, QUEUED,
            event=events.make(events.QUEUED, time.time(), self.serverName,
                              why='startJob', by=by))
        if changed:
            self._added()
        return changed

    def cancel(self, jobid):
        """Cancel a job that has not finished, as the originals did: no
        answer, and nothing happens for a job that has finished or an id
        that has none. ``cancelJob`` says what happened."""
        try:
            self.cancelJob(jobid)
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
        now = time.time()
        cancelled = self.store.transition(
            jobid, CANCELLABLE | {PROCESSING}, CANCELLED, now,
            events.make(events.CANCELLED, now, self.serverName, by=by))
        if cancelled:
            self._ended(jobid, CANCELLED)
        return cancelled

    def retry(self, jobid, by=None):
        """Queue a job that ended in ``error`` again, at once, with a fresh
        count of attempts; whether it was in error."""
        retried = self.store.retry(jobid, events.make(
            events.RETRIED, time.time(), self.serverName,
            why='retried by request', by=by))
        if retried:
            self._added()
        return retried

    def runNow(self, jobid, now=None, by=None):
        """Make a cron or delayed job due now (not while it runs); whether
        it was such a job. ``by``: who asked, for its events."""
        now = time.time() if now is None else now
        moved = self.store.runNow(jobid, now, events.make(
            events.RUN_NOW, now, self.serverName, by=by))
        if moved:
            self._added()
        return moved

    def isCancelled(self, jobid):
        """Whether ``jobid`` was cancelled: long tasks may poll this."""
        return self.store.get(jobid)['status'] == CANCELLED

    def reschedule(self, jobid):
        row = self.store.get(jobid)
        if row['schedule'] is None:
            raise NotAllowed(f'Job {jobid} is not a cron or delayed job.')
        self.store.setSchedule(jobid, row['schedule'])

    def clean(self, stati=(CANCELLED, ERROR, COMPLETED)):
        """Remove the finished jobs in ``stati``, answering nothing, as
        the originals did; ``removeFinished`` says how many went."""
        self.removeFinished(stati)

    @mayTakeLong
    def removeFinished(self, stati=(CANCELLED, ERROR, COMPLETED)):
        """Remove the finished jobs whose status is in ``stati`` (every
        finished one by default) and return how many were removed. A
        status whose jobs may still run is refused (``InvalidArgument``)."""
        if any(not isinstance(status, str) for status in stati):
            raise InvalidArgument('clean() takes status names (strings).')
        stati = set(stati)
        unfinished = stati - FINISHED
        if unfinished:
            raise InvalidArgument(
                f'clean() removes finished jobs only; not '
                f'{", ".join(sorted(map(str, unfinished)))}.')
        return self.store.clean(sorted(stati))

    # Processing (claimNext, processNext, process and the run bookkeeping
    # are in JobRunning)

    def hasJobsWaiting(self, now=None):
        return self.store.hasDue(time.time() if now is None else now)

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
