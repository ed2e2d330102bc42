"""What to do when PostgreSQL refuses remotetask a privilege it needs.

At its first start remotetask creates its tables in the database's
``public`` schema, and later starts may alter them (migrations). Since
PostgreSQL 15 only the database's owner may create there by default, so
a role that does not own the database stops the server with
"permission denied for schema public" and a line of SQL. ``advice``
turns that into one sentence naming the missing privilege and the
statements that grant it.
"""

import re

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
