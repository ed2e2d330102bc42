"""Job stores: where jobs live (see ``IJobStore`` for the contract)."""

import os
import re
import urllib.parse

from remotetask.store.sqlite import MEMORY, SQLiteJobStore

__all__ = ['SQLiteJobStore', 'openStore', 'parseStore',
           'describeStore', 'defaultStoreFile']

_SCHEME = re.compile(r'[A-Za-z][A-Za-z0-9+.-]*:')
_FORMS = 'sqlite:FILE, memory: or a postgresql:// URL'


def defaultStoreFile(environ=os.environ):
    """The SQLite file of a server given no ``--store``: ``jobs.sqlite``
    in ``remotetask/`` under the user's data directory
    (``$XDG_DATA_HOME``, else ``~/.local/share``), so that every start
    finds the same queue whatever its working directory."""
    base = environ.get('XDG_DATA_HOME') or os.path.join(
        os.path.expanduser('~'), '.local', 'share')
    return os.path.join(os.path.abspath(base), 'remotetask', 'jobs.sqlite')


def parseStore(spec):
    """``(kind, target)`` for a command-line ``--store`` value: ``sqlite``
    and an absolute file name (``sqlite:PATH``, or a bare path; relative
    to the working directory), ``memory`` and None, or ``postgresql`` and
    the URL. Any other scheme is a ValueError saying what is accepted."""
    if spec in ('memory', 'memory:'):
        return 'memory', None
    if spec.startswith(('postgresql://', 'postgres://')):
        return 'postgresql', spec
    if spec.startswith('sqlite:'):
        path = spec[len('sqlite:'):]
    elif _SCHEME.match(spec):
        scheme = spec.partition(':')[0]
        raise ValueError(f'unknown kind of store {scheme!r}; use {_FORMS}')
    else:
        path = spec
    if not path:
        raise ValueError('sqlite: needs a file name, e.g. sqlite:jobs.sqlite')
    return 'sqlite', os.path.abspath(os.path.expanduser(path))


def describeStore(spec):
    """The store ``spec`` names, in words for a log: never a password."""
    kind, target = parseStore(spec)
    if kind == 'memory':
        return 'in memory (its jobs are lost when the server stops)'
    if kind == 'sqlite':
        return f'SQLite file {target}'
    parts = urllib.parse.urlsplit(target)
    user, at, host = parts.netloc.rpartition('@')
    user = user.partition(':')[0]
    query = urllib.parse.urlencode(
        [(name, value) for name, value in urllib.parse.parse_qsl(parts.query)
         if name != 'password'], safe='/')
    # Written out, not urlunsplit: with no host (a socket directory in
    # ?host=) that would drop the // and log postgresql:/db.
    return (f'PostgreSQL {parts.scheme}://{user}{at}{host}{parts.path}'
            f'{"?" * bool(query)}{query}')


def openStore(spec, serverId=None, heartbeatTimeout=30.0, timeout=None):
    """Open the store a command-line ``--store`` value names (see
    ``parseStore``): a PostgreSQL store knows this server as ``serverId``
    and the others as alive while they heartbeat within
    ``heartbeatTimeout`` seconds, and bounds each call by ``timeout``
    seconds (see ``PostgreSQLJobStore``); a SQLite store (a file, or in
    memory for ``memory:``, gone when it is closed) records ``serverId``,
    when given, on the jobs it starts."""
    kind, target = parseStore(spec)
    if kind == 'memory':
        return SQLiteJobStore(MEMORY, serverId=serverId)
    if kind == 'postgresql':
        from remotetask.store.postgresql import TIMEOUT, PostgreSQLJobStore
        return PostgreSQLJobStore(target, serverId=serverId,
                                  heartbeatTimeout=heartbeatTimeout,
                                  timeout=timeout or TIMEOUT)
    return SQLiteJobStore(target, serverId=serverId)
