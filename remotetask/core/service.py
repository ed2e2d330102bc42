"""The TaskService: the API of lovely.remotetask, on a durable store.

The service is synchronous, as the original was: ``getStatus(1)`` returns
``'queued'``. The server (``remotetask.server``) calls it from threads it
owns, never from the reactor thread. Every method may be called from any
thread.
"""

import collections.abc
import json
import random
import re
import time
import uuid

from twisted.logger import Logger
from zope.interface import implementer

from remotetask.core import cron
from remotetask.core import job as jobs
from remotetask.core import misfire
from remotetask.core import runner
from remotetask.core import codec
from remotetask.errors import (
    InvalidArgument, NoSuchJob, NoSuchTask, NotAllowed, RemoteTaskError)
from remotetask.interfaces import ITaskService
from remotetask.core.registry import TaskRegistry
from remotetask.core.status import (
    CANCELLABLE, CANCELLED, COMPLETED, CRONJOB, ERROR, FINISHED, PROCESSING,
    QUEUED, STARTLATER, Status)
from remotetask.store.memory import MemoryJobStore
from remotetask.core.task import option


_CONTROL = re.compile('[\x00-\x08\x0b\x0c\x0e-\x1f]')


def _storableText(text):
    """``text`` as every store and XML-RPC can keep it: an exception
    message may hold a NUL (PostgreSQL refuses it), another control
    character (XML cannot carry it) or a lone surrogate (no UTF-8 codec
    takes it); these are written as backslash escapes instead."""
    if text is None:
        return None
    text = _CONTROL.sub(lambda found: f'\\x{ord(found.group()):02x}', text)
    return text.encode('utf-8', 'backslashreplace').decode('utf-8')


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
class TaskService:
    """Queue jobs for named tasks, run them, and report on them.

    ``store`` keeps the jobs (in memory when None); ``registry`` finds the
    tasks (a ``TaskRegistry`` when None); ``timezone`` is the zone cron
    schedules are read in (the process's local zone when None).
    """

    log = Logger()

    def __init__(self, store=None, registry=None, timezone=None):
        self.store = MemoryJobStore() if store is None else store
        self.registry = TaskRegistry() if registry is None else registry
        self.timezone = cron.localZone() if timezone is None else timezone
        self.jobs = JobsView(self)
        self._addListeners = []
        self._processor = None

    def __repr__(self):
        return f'<{type(self).__name__} {self.store!r}>'

    # Tasks

    def getAvailableTasks(self):
        return self.registry.getAvailableTasks()

    def _checkTask(self, task):
        if not isinstance(task, str):
            raise InvalidArgument(
                f'The task name must be a string, not {type(task).__name__}.')
        self.registry.lookup(task)

    # Adding jobs

    def onAdd(self, callback):
        """Call ``callback()`` after every add, e.g. to wake a dispatcher."""
        self._addListeners.append(callback)

    def _added(self):
        for callback in self._addListeners:
            callback()

    def add(self, task, input=None, startLater=False):
        jobid = self._add(task, input, startLater)
        self._added()
        return jobid

    def _add(self, task, input, startLater):
        self._checkTask(task)
        status = STARTLATER if startLater else QUEUED
        return self.store.add(task, codec.encode(input, 'input'), status,
                              None, time.time())

    def addAndClaim(self, task, input, startLater, slots):
        """``add()``, then claim up to ``slots`` due runs (the oldest
        first, so usually the job just added): for a dispatcher with free
        workers, one call instead of an add and a wake-up to claim.
        Returns ``(rows, jobid)``."""
        jobid = self._add(task, input, startLater)
        return self._claimAfterAdd(slots), jobid

    def addEachAndClaim(self, requests, slots):
        """``addEach()``, then claim up to ``slots`` due runs."""
        results = self._addEach(requests)
        return self._claimAfterAdd(slots), results

    def _claimAfterAdd(self, slots):
        # The add is committed: the caller must get its id even if the
        # claim fails (the dispatcher's next round claims the job then).
        try:
            return self.claimSome(slots)
        except RemoteTaskError:
            self.log.failure('Claiming after an add failed')
            return []

    def addMany(self, requests):
        """Add ``(task, input, startLater)`` tuples in one transaction;
        return their ids. Nothing is added if any of them is refused."""
        entries = []
        for task, input, startLater in requests:
            self._checkTask(task)
            entries.append((task, codec.encode(input, 'input'),
                            STARTLATER if startLater else QUEUED, None))
        ids = self.store.addMany(entries, time.time()) if entries else []
        if ids:
            self._added()
        return ids

    def addEach(self, requests):
        """Add ``(task, input, startLater)`` tuples, the valid ones in one
        transaction; return, in order, each one's id or the
        ``RemoteTaskError`` that refused it (for ``system.multicall``)."""
        results = self._addEach(requests)
        if any(type(result) is int for result in results):
            self._added()
        return results

    def _addEach(self, requests):
        results, entries, slots = [], [], []
        for task, input, startLater in requests:
            try:
                self._checkTask(task)
                entries.append((task, codec.encode(input, 'input'),
                                STARTLATER if startLater else QUEUED, None))
            except RemoteTaskError as error:
                results.append(error)
            else:
                slots.append(len(results))
                results.append(None)
        if entries:
            for slot, jobid in zip(slots,
                                   self.store.addMany(entries, time.time())):
                results[slot] = jobid
        return results

    def addCronJob(self, task, input=None, minute=(), hour=(), dayOfMonth=(),
                   month=(), dayOfWeek=(), delay=None, crontab=None,
                   misfire=jobs.ONCE):
        """Add a job that runs on a schedule (or once after ``delay``).

        ``misfire`` says what happens to due times that passed while no
        server ran the job: ``'once'`` runs it once for all of them,
        ``'skip'`` waits for the next due time; both count them in the
        job's ``missed``.
        """
        self._checkTask(task)
        job = jobs.CronJob(None, task, input, minute=minute, hour=hour,
                           dayOfMonth=dayOfMonth, month=month,
                           dayOfWeek=dayOfWeek, delay=delay, crontab=crontab,
                           misfire=misfire)
        jobid = self.store.add(task, codec.encode(input, 'input'),
                               job.status, jobs.encodeSchedule(job),
                               time.time())
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
        return self._jobsOf(row['id'] for row in rows), cursor

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
        """The Jobs of ``ids``, less any removed since they were listed."""
        found = []
        for jobid in ids:
            try:
                found.append(self.getJob(jobid))
            except NoSuchJob:
                pass
        return found

    # Changing jobs

    def startJob(self, jobid):
        changed = self.store.transition(jobid, {STARTLATER}, QUEUED)
        if changed:
            self._added()
        return changed

    def cancel(self, jobid):
        """Cancel a job that has not finished (a cron job: its future runs).

        A running job is marked cancelled at once and its end is not
        recorded; the daemon's process pool also stops it, and a task in a
        thread may poll ``isCancelled(jobid)``. Returns True if it was
        cancelled, False if it had finished; ``NoSuchJob`` if there is none.
        """
        return self.store.transition(jobid, CANCELLABLE | {PROCESSING},
                                     CANCELLED)

    def isCancelled(self, jobid):
        """Whether ``jobid`` was cancelled: long tasks may poll this."""
        return self.store.get(jobid)['status'] == CANCELLED

    def reschedule(self, jobid):
        row = self.store.get(jobid)
        if row['schedule'] is None:
            raise NotAllowed(f'Job {jobid} is not a cron or delayed job.')
        self.store.setSchedule(jobid, row['schedule'])

    def clean(self, stati=(CANCELLED, ERROR, COMPLETED)):
        if any(not isinstance(status, str) for status in stati):
            raise InvalidArgument('clean() takes status names (strings).')
        stati = set(stati)
        unfinished = stati - FINISHED
        if unfinished:
            raise InvalidArgument(
                f'clean() removes finished jobs only; not '
                f'{", ".join(sorted(map(str, unfinished)))}.')
        return self.store.clean(sorted(stati))

    # Processing

    def hasJobsWaiting(self, now=None):
        return self.store.hasDue(time.time() if now is None else now)

    def recoverAbandoned(self):
        """Put jobs left ``processing`` by an earlier run of this server
        (a crash, a kill -9) back in the queue; return how many."""
        return self.store.requeue([PROCESSING], QUEUED)

    def handleMisfires(self, now=None, grace=60.0, limit=100000):
        """Apply the cron jobs' misfire policies; see ``remotetask.core.misfire``.
        Returns how many jobs were moved."""
        return misfire.handleMisfires(self.store, self.timezone,
                                      time.time() if now is None else now,
                                      grace, limit)

    def _nextDue(self, row, now):
        return jobs.fromRow(row, timezone=self.timezone).timeOfNextCall(now)

    def _option(self, taskName, name):
        try:
            return option(self.registry.lookup(taskName), name)
        except NoSuchTask:
            return option(None, name)

    def claimNext(self, now=None):
        """Claim the next due run for this caller; return its row or None.

        The caller must end it with ``finishRun``. A cron or delayed job
        gets its first due time from the ``now`` of the first claim that
        sees it, as in the original. A job that was lost with its worker or
        server more often than its task allows attempts ends in error here
        instead of being handed out again.
        """
        now = time.time() if now is None else now
        self.store.scheduleFirstRuns(now, self._nextDue)
        while True:
            row = self.store.claim(now, uuid.uuid4().hex, self._nextDue,
                                   time.time())
            if row is None or row['status'] != PROCESSING:
                return row
            allowed = self._option(row['task'], 'maxAttempts')
            if row['attempts'] <= allowed:
                return row
            self.finishRun(row, runner.Outcome.failed(
                f'The job was lost with its worker or server '
                f'{row["attempts"] - 1} times (a crash or kill); it is not '
                f'run again (maxAttempts {allowed}).'))

    def claimSome(self, limit, now=None):
        """Claim up to ``limit`` due runs (fewer when fewer are due); one
        call for a dispatcher that has ``limit`` free workers."""
        rows = []
        while len(rows) < limit:
            row = self.claimNext(now)
            if row is None:
                break
            rows.append(row)
        return rows

    def finishRun(self, row, outcome):
        """Record ``outcome`` for the run claimed as ``row``: a failure
        that may be retried, within the task's attempts, sends the job back
        to the queue for later (exponential backoff with jitter). Returns
        the status recorded, or None if the claim was lost meanwhile (the
        job was cancelled or taken back) and nothing was written."""
        now = time.time()
        due = attempt = None
        error = _storableText(outcome.error)
        if row['status'] == CRONJOB:
            status = None
        elif outcome.ok:
            status = COMPLETED
        elif outcome.retry and row['attempts'] < self._option(
                row['task'], 'maxAttempts'):
            status, due = QUEUED, now + self._backoff(row)
        else:
            status = ERROR
        if not outcome.ok:
            attempt = json.dumps(dict(
                attempt=row['attempts'], error=error,
                started=row['started'], completed=now))
        recorded = self.store.finish(
            row['id'], row['token'], status, outcome.output, error,
            _storableText(outcome.traceback), now, due=due, attempt=attempt)
        if not recorded:
            return None
        return CRONJOB if status is None else status

    def _backoff(self, row):
        """Seconds before the next attempt: doubling from the task's
        ``backoff`` up to ``maxBackoff``, with jitter so that jobs that
        failed together do not all come back at once."""
        base = self._option(row['task'], 'backoff')
        cap = self._option(row['task'], 'maxBackoff')
        delay = min(cap, base * 2 ** (row['attempts'] - 1))
        return delay * random.uniform(0.5, 1.0)

    def runClaimed(self, row):
        """Run a claimed job in this thread and record its outcome."""
        try:
            task = self.registry.lookup(row['task'])
        except NoSuchTask as error:
            outcome = runner.Outcome.failed(str(error))
        else:
            outcome = runner.runTask(task, self, row['id'],
                              codec.decode(row['input']))
        self.finishRun(row, outcome)
        return outcome

    def processNext(self, now=None):
        row = self.claimNext(now)
        if row is None:
            return False
        self.runClaimed(row)
        return True

    def process(self, now=None):
        while self.processNext(now):
            pass

    def startProcessing(self):
        from remotetask.core.processor import ThreadedProcessor
        if self._processor is None or not self._processor.running:
            self._processor = ThreadedProcessor(self)
            self._processor.start()

    def stopProcessing(self):
        if self._processor is not None:
            self._processor.stop()
            self._processor = None

    def isProcessing(self):
        return self._processor is not None and self._processor.running
