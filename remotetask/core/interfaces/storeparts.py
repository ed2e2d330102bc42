"""What a store has or is beside the ``IJobStore`` contract: the API
tokens it keeps (its ``apiTokens``), and the kinds of store the server
asks about with ``providedBy`` rather than by duck typing."""

from zope.interface import Attribute, Interface

from remotetask.core.interfaces.store import IJobStore


class IQuickWrites(Interface):
    """A store whose write transactions take microseconds and never wait
    on the disk (SQLite in WAL mode with ``synchronous = NORMAL``: a
    commit is an append to the log, no fsync), so that the server may
    commit them on its reactor thread rather than hand each to a thread
    and back. What may wait (the checkpoints that move the log into the
    file, fsync included) is left to ``checkpoint()``, in a thread."""

    def writingNow():
        """A context manager giving True when this thread holds the
        store's write lock at once, without waiting (it is held until the
        block ends, and transactions inside it join it), and False when
        another thread holds it: then nothing is written here."""

    def checkpoint():
        """Move what the write-ahead log holds into the file, without
        waiting for readers or writers; in a thread, never the one that
        writes in ``writingNow()``."""


class IApiTokenStore(Interface):
    """The API tokens (issue 22), kept in the job store so that every
    server sharing it knows them. Each is kept as the SHA-256 of the
    token (``digest``, hex), never the token itself; ``tasks`` is a list
    of task names (``['*']``: every task)."""

    def add(name, digest, role, tasks, now, expires=None):
        """Keep a token; False, keeping nothing, if ``name`` is taken."""

    def find(digest):
        """``{name, role, tasks, expires, lastused}`` of the token whose
        digest is ``digest``, or None."""

    def list():
        """``[{name, role, tasks, created, expires, lastused}]`` by name;
        never a digest."""

    def revoke(name):
        """Forget the token ``name``; whether there was one."""

    def touch(digest, now):
        """Record ``now`` as the token's last use."""


class ISharedJobStore(IJobStore):
    """A job store that several servers share (PostgreSQL), each known
    by its ``serverId``. What sharing adds: each server heartbeats and
    says which tasks it serves, so that an add on any server is accepted
    for a task some server alive serves; the live servers put back in the
    queue the jobs of a server whose heartbeat stopped; and a change made
    by one server (a job added, a job ended) wakes the others.

    A store that one server holds alone (SQLite) provides none of this:
    its server knows every task it serves, and recovers its own jobs at
    start."""

    serverId = Attribute('This server\'s name among those sharing the '
                         'store, recorded on the jobs it claims.')

    def heartbeat(now):
        """Record that this server is alive at ``now``, serving the tasks
        it announced."""

    def announce(tasks, limited, now):
        """Record that this server serves ``tasks`` ({name: description})
        from ``now`` on, with a heartbeat; ``limited``: those of them
        whose claims are limited (``remotetask.core.limits``)."""

    def withdraw():
        """Serve no task any more: the server is stopping."""

    def servedTasks(now):
        """``{task: {description, servers}}`` of every task that a
        server alive at ``now`` serves."""

    def lastServedTasks():
        """What ``servedTasks`` answered last ({} before its first
        answer), reading nothing: for listings that must answer while the
        store does not."""

    def servers():
        """``[{id, heartbeat, tasks, running}]``: the servers sharing the
        store, for the dashboard."""

    def recoverLost(now, timeout):
        """Put back in the queue the jobs claimed by servers that have
        not heartbeated for ``timeout`` seconds; their ids, ascending."""

    def listen(callback, finished=None):
        """Call ``callback()`` soon after a job is added (or queued again)
        by any server, and ``finished(jobid, status)`` when one ends;
        ``finished(None, None)`` when ends may have gone unheard. Return
        ``stop()``."""
