"""The users file (``--users``) and the password hashes it may hold.

One ``user:password`` line per user. Everything after the first colon is
the password, colons included (``bob:pa:ss`` is the password ``pa:ss``),
as in Apache's htpasswd files: a user name cannot hold a colon, a password
may, and refusing one that does would only push people to weaker ones.
Blank lines and lines starting with ``#`` are skipped; any other line
without a colon, or with nothing after it, is an error when the server
starts, never a user silently left out.

The password is either plain text or a hash made by ``hashPassword``
(``remotetask hash-password USER`` prints a whole line)::

    bob:$scrypt$ln=14,r=8,p=1$<salt>$<key>

scrypt (``hashlib.scrypt``: memory-hard, in the standard library) with a
16-byte random salt per entry and the cost in the entry, so that a later
default can raise it without breaking old lines. Salt and key are
unpadded standard base64. A plain-text password may not start with
``$scrypt$``.
"""

import base64
import hashlib
import hmac
import os
import re

from twisted.cred.checkers import FilePasswordDB

SCHEME = '$scrypt$'
#: The cost of new hashes: 2**14 rounds, 8 blocks (16 MB, about 50 ms).
LOG2_N, R, P = 14, 8, 1
#: The most a hash in the file may ask for, so that a mistaken line
#: cannot make each login take gigabytes.
MAX_LOG2_N, MAX_MEMORY = 20, 256 * 1024 * 1024
_HASHED = re.compile(r'\$scrypt\$ln=(\d+),r=(\d+),p=(\d+)\$([A-Za-z0-9+/]+)'
                     r'\$([A-Za-z0-9+/]+)\Z')


def _b64(data):
    return base64.b64encode(data).decode('ascii').rstrip('=')


def _unb64(text):
    return base64.b64decode(text + '=' * (-len(text) % 4))


def _derive(password, salt, log2n, r, p):
    return hashlib.scrypt(password, salt=salt, n=2 ** log2n, r=r, p=p,
                          maxmem=MAX_MEMORY, dklen=32)


def hashPassword(password, salt=None):
    """The users-file form of ``password`` (str): ``$scrypt$...``."""
    salt = os.urandom(16) if salt is None else salt
    key = _derive(password.encode('utf-8'), salt, LOG2_N, R, P)
    return f'{SCHEME}ln={LOG2_N},r={R},p={P}${_b64(salt)}${_b64(key)}'


def _parseHash(stored):
    found = _HASHED.match(stored)
    if not found:
        raise ValueError('a password starting with $scrypt$ must be a '
                         'whole hash from "remotetask hash-password"')
    log2n, r, p = map(int, found.group(1, 2, 3))
    if not (1 <= log2n <= MAX_LOG2_N and 1 <= r <= 64 and 1 <= p <= 16
            and 128 * r * (2 ** log2n + p + 2) <= MAX_MEMORY):
        raise ValueError(f'the hash asks for more than this server gives a '
                         f'login (at most ln={MAX_LOG2_N} and '
                         f'{MAX_MEMORY // 2 ** 20} MB)')
    return _unb64(found.group(4)), _unb64(found.group(5)), log2n, r, p


def isHashed(stored):
    return stored.startswith(SCHEME)


def matches(password, stored):
    """Whether ``password`` (bytes, from the client) is the one ``stored``
    (str, from the file) describes; in constant time. Slow for a hash, by
    design: call it off the reactor thread."""
    if not isHashed(stored):
        return hmac.compare_digest(password, stored.encode('utf-8'))
    salt, key, log2n, r, p = _parseHash(stored)
    return hmac.compare_digest(_derive(password, salt, log2n, r, p), key)


def readUsers(filename):
    """``{user: stored password}`` from the users file; ``ValueError``
    naming the line for a line that is not ``user:password``."""
    users = {}
    with open(filename, encoding='utf-8') as file:
        for number, line in enumerate(file, 1):
            line = line.rstrip('\r\n')
            if not line.strip() or line.startswith('#'):
                continue
            user, colon, stored = line.partition(':')
            where = f'{filename}, line {number}'
            if not colon or not user:
                raise ValueError(f'{where}: not user:password')
            if not stored:
                raise ValueError(f'{where}: the password of {user!r} is '
                                 'empty')
            if isHashed(stored):
                try:
                    _parseHash(stored)
                except ValueError as error:
                    raise ValueError(f'{where}: {error}') from None
            users[user] = stored
    return users


class UsersFile(FilePasswordDB):
    """The users file as twisted.cred's ``FilePasswordDB``, read whole
    lines at a time (everything after the first colon is the password)
    and again whenever it changes; plain-text and hashed entries alike
    (its ``hash`` function tells them apart)."""

    def __init__(self, filename):
        super().__init__(filename, hash=self._matched, cache=True)
        self._users = readUsers(filename)
        self._stamp = self._stat()

    def _stat(self):
        info = os.stat(self.filename)
        return info.st_mtime_ns, info.st_size, info.st_ino

    def users(self):
        """``{user: stored}``, read again if the file changed. A file made
        unreadable or malformed meanwhile keeps the last good reading."""
        try:
            stamp = self._stat()
            if stamp != self._stamp:
                self._users, self._stamp = readUsers(self.filename), stamp
        except (OSError, ValueError) as error:
            self._log.error('Reading {file} failed, keeping its last '
                            'reading: {error}', file=self.filename,
                            error=error)
        return self._users

    @property
    def version(self):
        """Changes whenever the file's contents may have."""
        return self._stamp

    def getUser(self, username):
        """``(username, stored)`` as bytes; ``KeyError`` for no such user."""
        name = username.decode('utf-8', 'surrogateescape')
        stored = self.users()[name]
        return username, stored.encode('utf-8')

    def stored(self, username):
        """The stored password (str) of ``username`` (bytes), or None."""
        return self.users().get(username.decode('utf-8', 'surrogateescape'))

    @staticmethod
    def _matched(username, password, stored):
        return stored if matches(password, stored.decode('utf-8')) else None
