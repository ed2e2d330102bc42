"""``token.*``: API tokens made, listed and revoked over XML-RPC, by an
admin (``remotetask token ...`` calls these).

``token.create(name, role, tasks, expiresIn)`` answers the token once,
in clear; the store keeps only its SHA-256 (``remotetask.wire.tokens``),
so it cannot be shown again. A token acts as ``name``: the jobs it adds
are ``name``'s, and a user of the same name sees them as its own.
"""

import re
import time

from twisted.web.xmlrpc import XMLRPC

from remotetask.core.permissions import (
    ANY_TASK, CALLER, ROLES, Principal, checkAdmin)
from remotetask.errors import InvalidArgument
from remotetask.wire.checks import need
from remotetask.wire.structs import iso
from remotetask.wire.tokens import digestOf, newToken

#: What a token's name may be: a user name of Basic auth (no colon).
_NAME = re.compile(r'[A-Za-z0-9._@-]{1,100}\Z')
#: The longest life of a token (100 years), in seconds.
MAX_LIFE = 100 * 365 * 86400
#: The most tasks a token may name.
MAX_TASKS = 1000


def _shown(row):
    """A token as ``token.list`` shows it; never its digest."""
    found = dict(name=row['name'], role=row['role'], tasks=row['tasks'],
                 created=iso(row['created']), expires=iso(row['expires']),
                 lastUsed=iso(row['lastused']))
    return {key: value for key, value in found.items() if value is not None}


def checkToken(name, role, tasks, expiresIn):
    """``InvalidArgument`` for a token that cannot be made."""
    need('name', name, str)
    if not _NAME.match(name):
        raise InvalidArgument(
            'name must be 1 to 100 letters, digits or ._@- (it is the '
            'user name of Basic auth).')
    need('role', role, str)
    if role not in ROLES:
        raise InvalidArgument(f'role must be one of {", ".join(ROLES)}.')
    need('tasks', tasks, list)
    if len(tasks) > MAX_TASKS:
        raise InvalidArgument(f'A token may name at most {MAX_TASKS} tasks.')
    for task in tasks:
        need('Each task', task, str)
    if role == CALLER and not tasks:
        raise InvalidArgument(
            f'A caller needs the tasks it may add ({ANY_TASK} for all).')
    if role != CALLER and tasks:
        raise InvalidArgument('Only a caller names tasks.')
    need('expiresIn', expiresIn, int, float)
    if not 0 <= expiresIn <= MAX_LIFE:
        raise InvalidArgument(
            f'expiresIn must be from 0 (never) to {MAX_LIFE} seconds.')
    return Principal(name, role, tasks)


class TokenHandler(XMLRPC):
    """``token.create``, ``token.list`` and ``token.revoke``, for admins
    only; ``parent`` is the ``TaskServiceResource`` (its store calls)."""

    def __init__(self, parent):
        super().__init__(allowNone=True)
        self.parent = parent

    @property
    def _tokens(self):
        return self.parent.service.apiTokens

    def xmlrpc_create(self, name, role, tasks=(), expiresIn=0, *,
                      caller=None):
        """Make an API token; return {name, role, tasks, expires, token}.
        The token is shown this once: only its hash is kept. role is
        admin, caller or viewer; a caller's tasks are the task names it
        may add (* for all); expiresIn is in seconds (0: never)."""
        checkAdmin(caller, 'managing API tokens')
        tasks = list(need('tasks', tasks, list, tuple))
        checkToken(name, role, tasks, expiresIn)
        token, now = newToken(), time.time()
        expires = now + expiresIn if expiresIn else None
        d = self.parent.writeCall(self._tokens.add, name, digestOf(token),
                                  role, tasks, now, expires)

        def made(added):
            if not added:
                raise InvalidArgument(
                    f'There is a token named {name!r} already; revoke it '
                    'first.')
            shown = dict(name=name, role=role, tasks=tasks, token=token,
                         expires=iso(expires))
            return {key: value for key, value in shown.items()
                    if value is not None}
        return d.addCallback(made)

    def xmlrpc_list(self, *, caller=None):
        """Return the API tokens, by name: an array of {name, role, tasks,
        created, expires, lastUsed} (never the tokens themselves)."""
        checkAdmin(caller, 'managing API tokens')
        d = self.parent.storeCall(self._tokens.list)
        return d.addCallback(lambda rows: [_shown(row) for row in rows])

    def xmlrpc_revoke(self, name, *, caller=None):
        """Revoke the API token name; return true. Every server sharing
        the store refuses it within a second."""
        checkAdmin(caller, 'managing API tokens')
        need('name', name, str)
        d = self.parent.writeCall(self._tokens.revoke, name)

        def revoked(found):
            if not found:
                raise InvalidArgument(f'There is no token named {name!r}.')
            return True
        return d.addCallback(revoked)
