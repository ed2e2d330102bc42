"""Job stores: where jobs live (see ``IJobStore`` for the contract)."""

from remotetask.store.memory import MemoryJobStore
from remotetask.store.sqlite import SQLiteJobStore

__all__ = ['MemoryJobStore', 'SQLiteJobStore', 'openStore']


def openStore(spec, serverId=None, timeout=None):
    """Open the store a command-line ``--store`` value names.

    ``sqlite:PATH`` (or a bare path), ``memory:``, or a ``postgresql://``
    URL, whose store knows this server as ``serverId`` and bounds each
    call by ``timeout`` seconds (see ``PostgreSQLJobStore``).
    """
    if spec in ('memory', 'memory:'):
        return MemoryJobStore()
    if spec.startswith(('postgresql://', 'postgres://')):
        from remotetask.store.postgresql import TIMEOUT, PostgreSQLJobStore
        return PostgreSQLJobStore(spec, serverId=serverId,
                                  timeout=timeout or TIMEOUT)
    if spec.startswith('sqlite:'):
        spec = spec[len('sqlite:'):]
    if not spec:
        raise ValueError('sqlite: needs a file name, e.g. sqlite:jobs.sqlite')
    return SQLiteJobStore(spec)
