"""Which tasks a service runs, which it accepts, and their limits.

A service runs the jobs of the tasks in its registry, and claims no
others (``JobRunning.claim``). With a store shared by several servers
(PostgreSQL), each server records the tasks it serves beside its
heartbeat; an add accepts a task that any server alive serves, and its
job waits, ``queued``, until one of them takes it. A store that one
server holds (SQLite, in memory) knows this service's tasks alone.
"""

from remotetask.core import events
from remotetask.core.interfaces import ISharedJobStore
from remotetask.core.limits import NONE, limitOf
from remotetask.core.task import describe
from remotetask.errors import InvalidArgument, NoSuchTask, RemoteTaskError


class TaskRouting:
    """The tasks of ``registry``, within ``limits`` ({name: Limit}, kept
    by reference: a change to it holds from the next claim), beside those
    of the other servers of ``store``; ``clock`` gives now."""

    def __init__(self, store, registry, limits, clock):
        self.store = store
        self.registry = registry
        self.limits = limits
        self.clock = clock
        self._kindOf = self._shared = None

    @property
    def serverId(self):
        """This server's name in a store shared by several, else None.
        Asked for by every event: whether the store is shared is asked
        once per store."""
        store = self.store
        if store is not self._kindOf:
            self._kindOf, self._shared = store, \
                ISharedJobStore.providedBy(store)
        return store.serverId if self._shared else None

    @property
    def serverName(self):
        """Who did it, in a job's events and the counters: the
        ``serverId`` on a shared store, else ``host:pid``."""
        return self.serverId or events.serverName()

    def getAvailableTasks(self):
        return self.registry.getAvailableTasks()

    def taskLimits(self):
        """``{name: Limit}`` of the tasks this service runs that have
        limits: their own, each replaced by ``limits``' where it has one."""
        found = {name: limitOf(task, self.limits.get(name, NONE))
                 for name, task in self.getAvailableTasks().items()}
        return {name: limit for name, limit in found.items()
                if limit is not NONE and limit}

    def _servedElsewhere(self, now=None, lastKnown=False):
        """``{task: {description, servers}}`` of the servers alive that
        share the store ({} for a store that one server holds); with
        ``lastKnown``, as the store last read them, reading nothing."""
        if self.knowsAllTasks():
            return {}
        if lastKnown:
            return self.store.lastServedTasks()
        return self.store.servedTasks(
            self.clock.seconds() if now is None else now)

    def knowsAllTasks(self):
        """Whether this service alone serves its store, so that
        ``describeTasks`` reads nothing from it (its tasks were imported
        when it started) and may run on any thread, the store down or
        not."""
        return not ISharedJobStore.providedBy(self.store)

    def describeTasks(self, now=None, lastKnown=False):
        """``{name: description}`` of every task a job may be added for:
        this service's, and those of the servers alive sharing its store,
        sorted by name (with ``lastKnown``, the other servers' as last
        read: see ``knowsAllTasks``)."""
        described = {name: info['description'] for name, info in
                     self._servedElsewhere(now, lastKnown).items()}
        described.update((name, describe(task)) for name, task in
                         self.getAvailableTasks().items())
        return dict(sorted(described.items()))

    def taskServers(self, now=None):
        """``{name: [server ids]}``: which servers alive serve each task
        (this one as ``serverId``, None for a store it holds alone)."""
        servers = {name: set(info['servers']) for name, info in
                   self._servedElsewhere(now).items()}
        for name in self.getAvailableTasks():
            servers.setdefault(name, set()).add(self.serverId)
        return {name: sorted(ids, key=str)
                for name, ids in sorted(servers.items())}

    def checkTask(self, task, served=None):
        """Refuse a task no server serves. ``served``: a dict to keep, for
        the checks of one batch, the tasks found and the cluster's
        tasks."""
        if not isinstance(task, str):
            raise InvalidArgument(
                f'The task name must be a string, not {type(task).__name__}.')
        if served is not None and task in served.get('found', ()):
            return
        try:
            self.registry.lookup(task)
        except NoSuchTask:
            served = {} if served is None else served
            if 'tasks' not in served:
                served['tasks'] = self.describeTasks()
            if task not in served['tasks']:
                raise NoSuchTask.named(task, served['tasks'])
        if served is not None:
            served.setdefault('found', set()).add(task)

    def isServed(self, task):
        """Whether a job of ``task`` may be added (some server serves
        it)."""
        try:
            self.checkTask(task)
        except RemoteTaskError:
            return False
        return True
