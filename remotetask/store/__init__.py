"""Job stores: where jobs live (see ``IJobStore`` for the contract)."""

from remotetask.store.memory import MemoryJobStore
from remotetask.store.sqlite import SQLiteJobStore

__all__ = ['MemoryJobStore', 'SQLiteJobStore', 'openStore']


def openStore(spec, serverId=None, heartbeatTimeout=30.0):
    """Open the store a command-line ``--store`` value names.

    ``sqlite:PATH`` (or a bare path), ``memory:``, or a ``postgresql://``
    URL, whose store knows this server as ``serverId`` and the others as
    alive while they heartbeat within ``heartbeatTimeout`` seconds (see
    ``PostgreSQLJobStore``). A SQLite store records ``serverId``, when
    given, on the jobs it starts.
    """
    if spec in ('memory', 'memory:'):
        return MemoryJobStore()
    if spec.startswith(('postgresql://', 'postgres://')):
        from remotetask.store.postgresql import PostgreSQLJobStore
        return PostgreSQLJobStore(spec, serverId=serverId,
                                  heartbeatTimeout=heartbeatTimeout)
    if spec.startswith('sqlite:'):
        spec = spec[len('sqlite:'):]
    if not spec:
        raise ValueError('sqlite: needs a file name, e.g. sqlite:jobs.sqlite')
    return SQLiteJobStore(spec, serverId=serverId)
