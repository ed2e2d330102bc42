"""The writes of jobs: adds (one, many, chains, groups, cron jobs) and
the changes a client asks for (start, cancel, retry, run now).

Every add is checked before anything is written (the task served, the
completion URL allowed, the jobs waited for existing; see
``remotetask.core.workflows``), so that a refused write stores nothing:
the server's writer then fails that call alone. Whatever may make a job
claimable or end one is told through ``Listeners`` once committed.
"""

from remotetask.core import codec, events, job as jobs, notifying
from remotetask.core import workflows
from remotetask.core.entries import newEntry
from remotetask.core.longwrites import large, mayTakeLong
from remotetask.core.status import (
    CANCELLABLE, CANCELLED, COMPLETED, ERROR, FINISHED, PROCESSING, QUEUED,
    STARTLATER)
from remotetask.errors import InvalidArgument, NotAllowed, RemoteTaskError


class JobWrites:
    """Adds and changes on ``store``: tasks checked by ``routing``, news
    told to ``listeners``, ``settings``' ``notifyAllow``, ``maxAfter``
    and ``maxSteps`` read at each use, now from ``clock``."""

    def __init__(self, store, routing, listeners, settings, clock):
        self.store = store
        self.routing = routing
        self.listeners = listeners
        self.settings = settings
        self.clock = clock

    def _event(self, kind, now, **details):
        return events.make(kind, now, self.routing.serverName, **details)

    # Adding

    @mayTakeLong(when=large)
    def add(self, task, input=None, startLater=False, *, priority=0,
            key=None, delay=None, maxAttempts=None, notify=None,
            after=None, onFailure=None, passResults=None, owner=None):
        """Queue a job for ``task``; its id (``TaskService.add``)."""
        if after is not None or onFailure is not None or \
                passResults is not None:
            return self.addMany([(task, input, dict(
                startLater=startLater, priority=priority, key=key,
                delay=delay, maxAttempts=maxAttempts, notify=notify,
                after=after, onFailure=onFailure,
                passResults=passResults))], owner=owner)[0]
        now = self.clock.seconds()
        self.routing.checkTask(task)
        if notify is not None:
            self._checkNotify(notify)
        entry = newEntry(task, input, now, startLater, priority, key, delay,
                         maxAttempts)
        jobid = self.store.add(
            task, entry.input, entry.status, None, now,
            priority=entry.priority, key=entry.key, due=entry.due,
            maxAttempts=entry.maxattempts, notify=notify,
            event=self._addedEvent(now, owner), owner=owner)
        if entry.status == QUEUED:
            self.listeners.added()
        return jobid

    def _checkNotify(self, notify):
        if notify is not None:
            notifying.checkURL(notify, self.settings.notifyAllow)
        return notify

    def _addedEvent(self, now, owner=None):
        return events.make(events.ADDED, now, self.routing.serverName,
                           by=owner)

    def _checked(self, item, served):
        """The ``Planned`` job of ``item`` (``(task, planned)``), its task
        and completion URL checked; ``served``: what the checks of one
        batch keep (``TaskRouting.checkTask``)."""
        task, planned = item
        self.routing.checkTask(task, served)
        if planned.entry.notify is not None:
            self._checkNotify(planned.entry.notify)
        return planned

    def _entry(self, request, now, served, owner=None):
        return self._checked(workflows.plan(
            request, now, maxAfter=self.settings.maxAfter, owner=owner),
            served)

    @mayTakeLong(when=large)
    def addMany(self, requests, owner=None):
        """Add jobs in one transaction; their ids (``TaskService``)."""
        now, served = self.clock.seconds(), {}
        entries = [self._entry(request, now, served, owner)
                   for request in requests]
        return self._store(entries, now, owner=owner)

    def _store(self, entries, now, refused=None, owner=None):
        """Add the planned ``entries`` (``workflows.storePlanned``)."""
        ids = workflows.storePlanned(
            self.store, self.routing.isServed, entries, now,
            self._addedEvent(now, owner), refused) if entries else []
        if any(jobid is not None for jobid in ids):
            self.listeners.added()
        return ids

    @mayTakeLong(when=large)
    def addEach(self, requests, owner=None):
        """Add jobs (requests as ``addMany`` takes them), the valid ones in
        one transaction; return, in order, each one's id or the
        ``RemoteTaskError`` that refused it (for ``system.multicall``)."""
        now, served = self.clock.seconds(), {}
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
    def addChain(self, steps, owner=None):
        """Add a chain in one transaction; the ids (``TaskService``)."""
        now, served = self.clock.seconds(), {}
        return self._store([self._checked(item, served) for item in
                            workflows.chainPlan(
                                steps, now, self.settings.maxSteps,
                                self.settings.maxAfter, owner)],
                           now, owner=owner)

    @mayTakeLong(when=large)
    def addGroup(self, steps, then=None, owner=None):
        """Add a group in one transaction; the ids (``TaskService``)."""
        now, served = self.clock.seconds(), {}
        return self._store([self._checked(item, served) for item in
                            workflows.groupPlan(
                                steps, then, now, self.settings.maxSteps,
                                self.settings.maxAfter, owner)],
                           now, owner=owner)

    @mayTakeLong(when=large)
    def addCronJob(self, task, input=None, minute=(), hour=(), dayOfMonth=(),
                   month=(), dayOfWeek=(), delay=None, crontab=None,
                   misfire=jobs.ONCE, owner=None):
        """Add a job that runs on a schedule (``TaskService``)."""
        self.routing.checkTask(task)
        job = jobs.CronJob(None, task, input, minute=minute, hour=hour,
                           dayOfMonth=dayOfMonth, month=month,
                           dayOfWeek=dayOfWeek, delay=delay, crontab=crontab,
                           misfire=misfire)
        now = self.clock.seconds()
        jobid = self.store.add(task, codec.encode(input, 'input'),
                               job.status, jobs.encodeSchedule(job), now,
                               event=self._addedEvent(now, owner),
                               owner=owner)
        self.listeners.added()
        return jobid

    # Changing

    def startJob(self, jobid, by=None):
        """Queue a ``start later`` job; whether it was one."""
        changed = self.store.transition(
            jobid, {STARTLATER}, QUEUED,
            event=self._event(events.QUEUED, self.clock.seconds(),
                              why='startJob', by=by))
        if changed:
            self.listeners.added()
        return changed

    def cancelJob(self, jobid, by=None):
        """Cancel a job that has not finished; whether it was cancelled
        (``TaskService.cancelJob``)."""
        now = self.clock.seconds()
        cancelled = self.store.transition(
            jobid, CANCELLABLE | {PROCESSING}, CANCELLED, now,
            self._event(events.CANCELLED, now, by=by))
        if cancelled:
            self.listeners.ended(jobid, CANCELLED)
        return cancelled

    def retry(self, jobid, by=None):
        """Queue a job that ended in ``error`` again; whether it was in
        error."""
        retried = self.store.retry(jobid, self._event(
            events.RETRIED, self.clock.seconds(),
            why='retried by request', by=by))
        if retried:
            self.listeners.added()
        return retried

    def runNow(self, jobid, now=None, by=None):
        """Make a cron or delayed job due now; whether it was one."""
        now = self.clock.seconds() if now is None else now
        moved = self.store.runNow(jobid, now, self._event(
            events.RUN_NOW, now, by=by))
        if moved:
            self.listeners.added()
        return moved

    def reschedule(self, jobid):
        row = self.store.get(jobid)
        if row['schedule'] is None:
            raise NotAllowed(f'Job {jobid} is not a cron or delayed job.')
        self.store.setSchedule(jobid, row['schedule'])

    @mayTakeLong
    def removeFinished(self, stati=(CANCELLED, ERROR, COMPLETED)):
        """Remove the finished jobs whose status is in ``stati``; how many
        went (``TaskService.removeFinished``)."""
        if any(not isinstance(status, str) for status in stati):
            raise InvalidArgument('clean() takes status names (strings).')
        stati = set(stati)
        unfinished = stati - FINISHED
        if unfinished:
            raise InvalidArgument(
                f'clean() removes finished jobs only; not '
                f'{", ".join(sorted(map(str, unfinished)))}.')
        return self.store.clean(sorted(stati))
