"""Setting up remotetask's tables in PostgreSQL, and what to do when the
database refuses a privilege that needs.

At its first start remotetask creates its tables in the database's
``public`` schema, and later starts may alter them (``migrate``). Since
PostgreSQL 15 only the database's owner may create there by default, so
a role that does not own the database would stop the server with
"permission denied for schema public" and a line of SQL; ``migrate``
says instead, in one sentence (``advice``), which privilege is missing
and the statements that grant it.
"""

import re

import psycopg

from remotetask.errors import StoreUnavailable

_PLAIN = re.compile(r'[a-z_][a-z0-9_$]*')


def _quoted(name):
    """``name`` as an SQL identifier, quoted only where it must be."""
    return name if _PLAIN.fullmatch(name) else \
        '"' + name.replace('"', '""') + '"'


def advice(error, user, dbname):
    """One line for an ``InsufficientPrivilege`` raised while the store
    was set up by ``user`` in ``dbname``: what was refused, and the fix."""
    refused = str(error).splitlines()[0].strip().rstrip('.')
    role, database = _quoted(user), _quoted(dbname)
    if 'schema' in refused:
        fix = (f'the role {user!r} may not create remotetask\'s tables in '
               f'database {dbname!r}; make it the owner of the database '
               f'(CREATE DATABASE {database} OWNER {role}) or grant it '
               f'the privilege: GRANT CREATE ON SCHEMA public TO {role}')
    else:
        fix = (f"remotetask's tables in database {dbname!r} belong to "
               f'another role, and {user!r} may not change them; make it '
               'their owner (as their owner or a superuser: REASSIGN '
               f'OWNED BY THEIR_OWNER TO {role})')
    return f'{refused}: {fix}'


def migrate(connection, queries, steps):
    """Create the schema table and run the ``steps`` (``(number, script)``)
    it has not recorded, in the caller's transaction; ``StoreUnavailable``
    with ``advice`` if a privilege is missing."""
    try:
        # A migration may rebuild a large table, and wait for another
        # server's: not bounded by the store's timeout.
        connection.execute("SET LOCAL statement_timeout = 0")
        connection.execute("SET LOCAL lock_timeout = 0")
        connection.execute(queries['lock_schema'])
        connection.execute(queries['create_schema_table'])
        version = connection.execute(
            queries['schema_version']).fetchone()['version']
        for number, script in steps:
            if number > version:
                connection.execute(script)
                connection.execute(queries['record_migration'],
                                   dict(version=number))
    except psycopg.errors.InsufficientPrivilege as error:
        raise StoreUnavailable(advice(
            error, connection.info.user, connection.info.dbname)) from None
