"""Setting up, and later altering, the tables of a SQLite store.

The migrations are the numbered sections of ``sqlite.sql``; the file
records the last one run in its ``user_version``, and each later start
runs those after it, in the transaction that reads it (one writer at a
time: no two processes migrate at once).
"""

import sqlite3


def statements(script):
    """Split a migration into statements SQLite can run one by one."""
    statement = ''
    for line in script.splitlines(keepends=True):
        statement += line
        if sqlite3.complete_statement(statement):
            yield statement.strip()
            statement = ''
    if statement.strip() and not all(
            part.strip().startswith('--') or not part.strip()
            for part in statement.splitlines()):
        raise ValueError(f'incomplete SQL statement: {statement!r}')


def schemaVersion(connection):
    """The number of the last migration run on the file."""
    return connection.execute(
        'PRAGMA user_version').fetchone()['user_version']


def migrate(connection, steps):
    """Run the ``steps`` (``(number, script)``) that the file has not
    recorded, in the caller's transaction."""
    version = schemaVersion(connection)
    for number, script in steps:
        if number > version:
            for statement in statements(script):
                connection.execute(statement)
            connection.execute(f'PRAGMA user_version = {number}')
