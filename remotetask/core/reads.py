"""The reads of jobs: one job, pages of them, and counts.

``JobReads`` is what a face reads through (``permissions.scoped`` narrows
it to a caller's own jobs): Jobs for the Python API (``getJob``,
``findJobs``), and rows as the store keeps them (``IJobStore``), read in
one call each, for the dashboard, ``/metrics`` and the wire, which write
them out without making Jobs first.
"""

import collections.abc

from remotetask.core import codec, job as jobs
from remotetask.core.interfaces import ISharedJobStore
from remotetask.core.status import CANCELLED, Status
from remotetask.errors import NoSuchJob


class JobsView(collections.abc.Mapping):
    """``service.jobs``: a read-only mapping id -> Job over the store.

    Each access reads the store; iterating pages through the ids, so a
    store of a million jobs is never loaded at once.
    """

    pageSize = 1000

    def __init__(self, reads):
        self._reads = reads

    def __getitem__(self, jobid):
        return self._reads.getJob(jobid)

    def __iter__(self):
        after = 0
        while True:
            page = self._reads.store.ids(after=after, limit=self.pageSize)
            yield from page
            if len(page) < self.pageSize:
                return
            after = page[-1]

    def __len__(self):
        return self._reads.store.count()

    def __contains__(self, jobid):
        try:
            self._reads.store.get(jobid)
        except KeyError:
            return False
        return True


class JobReads:
    """The jobs of ``store``; cron fields read in ``settings.timezone``
    (read at each use: a legacy host may set it at any time), now from
    ``clock``."""

    def __init__(self, store, settings, clock):
        self.store = store
        self.settings = settings
        self.clock = clock
        self.jobs = JobsView(self)

    @property
    def timezone(self):
        """The zone cron fields are read in (None: the local zone)."""
        return self.settings.timezone

    def _now(self, now):
        return self.clock.seconds() if now is None else now

    # Jobs

    def getJob(self, jobid):
        """The Job (or CronJob) ``jobid`` as it is now in the store."""
        return jobs.fromRow(self.store.get(jobid), store=self.store,
                            timezone=self.timezone, clock=self.clock)

    def getStatus(self, jobid):
        return Status(self.store.get(jobid)['status'])

    def getResult(self, jobid):
        return codec.decode(self.store.get(jobid)['output'])

    def getError(self, jobid):
        return self.store.get(jobid)['error']

    def isCancelled(self, jobid):
        """Whether ``jobid`` was cancelled: long tasks may poll this."""
        return self.store.get(jobid)['status'] == CANCELLED

    def hasJobsWaiting(self, now=None):
        return self.store.hasDue(self._now(now))

    def findJobs(self, status=None, task=None, after=0, limit=100):
        """A page of jobs, oldest first: ``(jobs, cursor)``, with up to
        ``limit`` Jobs whose id is above ``after``; ``cursor`` is the
        ``after`` of the next page, None when this one was not full."""
        rows = self.store.find(status=status, task=task, after=after,
                               limit=limit)
        cursor = rows[-1]['id'] if len(rows) == limit else None
        return [jobs.fromRow(row, store=self.store, timezone=self.timezone,
                             clock=self.clock) for row in rows], cursor

    def newestJobs(self, status=None, task=None, before=None, limit=100):
        """A page of jobs, newest first: ``(jobs, cursor)``, with up to
        ``limit`` Jobs whose id is below ``before`` (any id when None);
        ``cursor`` is the ``before`` of the next page, None when there is
        none. Paged by ``IJobStore.newest``, so every page costs the same
        at any depth; with both ``status`` and ``task`` a page may be
        short, or empty, and still have a cursor."""
        rows, cursor = self.store.newest(status=status, task=task,
                                         before=before, limit=limit)
        found = []
        for row in rows:
            # The previews hold cut inputs; a job removed since it was
            # listed is left out.
            try:
                found.append(self.getJob(row['id']))
            except NoSuchJob:
                pass
        return found, cursor

    def getDependencies(self, jobid, limit=1000):
        """``(dependencies, dependents)`` of ``jobid``: ``[{id, task,
        status}]`` of the jobs it waits (or waited) for, and of those that
        wait (or waited) for it, at most ``limit`` of each."""
        self.store.get(jobid)
        return (self.store.dependencies(jobid, limit),
                self.store.dependents(jobid, limit))

    # Rows

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

    def statuses(self, jobids):
        """``{jobid: status}`` of those of ``jobids`` that exist, in one
        read: for a server watching many jobs at once."""
        return self.store.statuses(list(jobids))

    # Counts

    def counts(self):
        """How many jobs there are of each status and task."""
        return self.store.counts()

    def oldestQueued(self, now=None):
        """Since when the oldest queued job that is due has waited."""
        return self.store.oldestQueued(self._now(now))

    def minutes(self, since):
        """The per-minute counters from the minute ``since`` on (epoch
        seconds // 60), summed over the servers: ``[{minute, finished,
        failed, queued}]``, for the dashboard's chart."""
        return self.store.minutes(since)

    def servers(self):
        """The servers sharing the store (``[{id, heartbeat, running}]``),
        or None for a store that one server holds."""
        if ISharedJobStore.providedBy(self.store):
            return self.store.servers()
        return None
