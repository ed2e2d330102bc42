"""Job stores: where jobs live (see ``IJobStore`` for the contract)."""

from remotetask.store.memory import MemoryJobStore
from remotetask.store.sqlite import SQLiteJobStore

__all__ = ['MemoryJobStore', 'SQLiteJobStore', 'openStore']


def openStore(spec):
    """Open the store a command-line ``--store`` value names.

    ``sqlite:PATH`` (or a path ending in ``.sqlite``/``.db``), ``memory:``,
    or a ``postgresql://`` URL.
    """
    if spec in ('memory', 'memory:'):
        return MemoryJobStore()
    if spec.startswith(('postgresql://', 'postgres://')):
        from remotetask.store.postgresql import PostgreSQLJobStore
        return PostgreSQLJobStore(spec)
    if spec.startswith('sqlite:'):
        spec = spec[len('sqlite:'):]
    if not spec:
        raise ValueError('sqlite: needs a file name, e.g. sqlite:jobs.sqlite')
    return SQLiteJobStore(spec)
