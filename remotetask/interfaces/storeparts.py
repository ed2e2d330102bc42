"""What a store has or is beside the ``IJobStore`` contract: the API
tokens it keeps (its ``apiTokens``), and the kinds of store the server
asks about with ``providedBy`` rather than by duck typing."""

from zope.interface import Interface


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
