"""The roles file (``--roles``): what each user of the users file may do.

One user a line, beside the users file, for the operator to read and
edit::

    # USER     ROLE     TASKS (a caller's, comma-separated; * for all)
    alice      admin
    shop       caller   convert, thumbs
    reports    caller   *
    monitor    viewer

The role is ``admin``, ``caller`` or ``viewer`` (``remotetask.core.
permissions``); a caller names the tasks it may add, the others name
none. Blank lines and everything from a ``#`` on are comments. A line
that is not one of these, a user named twice, or a caller without tasks
stops the server at start, naming the line. A user of the users file
the roles file does not name is a caller without tasks: it may log in,
and may neither add nor see any job. Without ``--roles`` every user is
an admin, as before.

The file is read again when it changes, as the users file is; a reading
that fails then keeps the last good one, and says so in the log.
"""

import os

from twisted.logger import Logger

from remotetask.core.permissions import (
    ADMIN, ANY_TASK, CALLER, ROLES, Principal)


def parseLine(line):
    """``(user, role, tasks)`` of one line, or None for a comment; a
    ``ValueError`` saying what is wrong with it."""
    text = line.split('#', 1)[0].strip()
    if not text:
        return None
    parts = text.split(None, 2)
    if len(parts) < 2:
        raise ValueError('write "USER ROLE [TASKS]"')
    user, role = parts[0], parts[1]
    if role not in ROLES:
        raise ValueError(f'{role!r} is not a role (the roles are '
                         f'{", ".join(ROLES)})')
    tasks = [task.strip() for task in parts[2].split(',')] \
        if len(parts) > 2 else []
    if any(not task for task in tasks):
        raise ValueError('a task name is empty (write them separated by '
                         'commas)')
    if role == CALLER and not tasks:
        raise ValueError(f'the caller {user!r} needs the tasks it may add '
                         f'(or {ANY_TASK} for every task)')
    if role != CALLER and tasks:
        raise ValueError(f'only a caller names tasks, and {user!r} is '
                         f'{"an" if role == ADMIN else "a"} {role}')
    return user, role, tasks


def readRoles(filename):
    """``{user: Principal}`` from the roles file; a ``ValueError`` naming
    the file and line of the first bad line."""
    found = {}
    with open(filename, encoding='utf-8') as file:
        for number, line in enumerate(file, 1):
            try:
                parsed = parseLine(line)
                if parsed is not None and parsed[0] in found:
                    raise ValueError(f'{parsed[0]!r} is named twice')
            except ValueError as error:
                raise ValueError(f'{filename}, line {number}: {error}') \
                    from None
            if parsed is not None:
                user, role, tasks = parsed
                found[user] = Principal(user, role, tasks)
    return found


class RolesFile:
    """The roles file, read at start and again whenever it changes."""

    log = Logger()

    def __init__(self, filename):
        self.filename = filename
        self._roles = readRoles(filename)
        self._stamp = self._stat()

    def _stat(self):
        info = os.stat(self.filename)
        return info.st_mtime_ns, info.st_size, info.st_ino

    def principal(self, user):
        """The ``Principal`` of ``user`` (str): its line's, or a caller
        without tasks for a user the file does not name."""
        try:
            stamp = self._stat()
            if stamp != self._stamp:
                self._roles, self._stamp = readRoles(self.filename), stamp
        except (OSError, ValueError) as error:
            self.log.error('Reading {file} failed, keeping its last '
                           'reading: {error}', file=self.filename,
                           error=error)
        found = self._roles.get(user)
        return found if found is not None else Principal(user, CALLER)


class EveryoneAdmin:
    """No roles file: every user is an admin, as before roles were."""

    @staticmethod
    def principal(user):
        return Principal(user, ADMIN)
