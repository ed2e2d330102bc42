"""One process at a time on a store file: an OS lock on a side file.

``FileLock(path)`` takes an exclusive ``flock`` on ``path`` (created if
need be) and writes the holder's pid into it, so that a second process is
refused at once with a message naming the first. The kernel drops the lock
when the holder exits, however it exits (``kill -9`` included), so a stale
lock file never keeps a server from starting.

``flock`` rather than ``fcntl``/``lockf`` record locks: a record lock
belongs to a process and is lost when that process forks and exits, which
is how ``twistd`` daemonises after the store is opened; an ``flock``
belongs to the open file, which the daemon inherits. It also needs no
write access, so a store on a read-only filesystem can still be locked.

Within one process the lock is shared: opening the same store twice (as
tests and library code may) takes it once, and it is released when the
last user closes it.
"""

import errno
import fcntl
import os
import threading

from remotetask.errors import StoreLocked, StoreUnavailable

_held = {}  # realpath -> [fd, users]
_heldLock = threading.Lock()


def _open(path):
    """A descriptor on the lock file, and whether it may be written."""
    try:
        return os.open(path, os.O_RDWR | os.O_CREAT, 0o644), True
    except OSError as error:
        if error.errno not in (errno.EROFS, errno.EACCES, errno.EPERM):
            raise
    # A read-only filesystem (see the tests of a store on one): lock the
    # file an earlier run left there, without writing a pid into it. With
    # none there, no server can write the store either: go unlocked.
    try:
        return os.open(path, os.O_RDONLY), False
    except FileNotFoundError:
        return None, False


def holderOf(path):
    """The pid written in the lock file ``path``, or None."""
    try:
        with open(path, encoding='ascii', errors='replace') as file:
            text = file.read().strip()
    except OSError:
        return None
    return int(text) if text.isdigit() else None


class FileLock:
    """An exclusive lock on ``path`` held by this process until
    ``release()``; ``StoreLocked`` when another process holds it."""

    def __init__(self, path, what):
        self.path = os.path.realpath(path)
        self.what = what
        self._released = False
        with _heldLock:
            entry = _held.get(self.path)
            if entry is not None:
                entry[1] += 1
                return
            _held[self.path] = [self._acquire(), 1]

    def _acquire(self):
        try:
            fd, writable = _open(self.path)
        except OSError as error:
            directory = os.path.dirname(self.path)
            if not os.path.isdir(directory):
                raise StoreUnavailable(
                    f'The directory {directory} does not exist; create it '
                    f'first (mkdir -p {directory}).') from error
            raise StoreUnavailable(
                f'Cannot open the lock file {self.path} '
                f'({self.what[:1].lower()}{self.what[1:]}): '
                f'{error.strerror}.') from error
        if fd is None:
            return None
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            os.close(fd)
            pid = holderOf(self.path)
            holder = f'pid {pid}' if pid else 'its pid unknown'
            raise StoreLocked(
                f'{self.what} is in use by another server ({holder}; see '
                f'{self.path}); one server at a time may use it.') from None
        if writable:
            self._writePid(fd)
        return fd

    @staticmethod
    def _writePid(fd):
        try:
            os.ftruncate(fd, 0)
            os.pwrite(fd, f'{os.getpid()}\n'.encode('ascii'), 0)
        except OSError:
            pass  # a full disk: the lock holds all the same

    def writePid(self):
        """Write this process's pid into the lock file: after a fork (a
        daemon), the holder is no longer the process that took it."""
        with _heldLock:
            entry = _held.get(self.path)
            if entry is not None and entry[0] is not None \
                    and not self._released:
                self._writePid(entry[0])

    def release(self):
        """Give the lock up (once this process's last user has)."""
        with _heldLock:
            if self._released:
                return
            self._released = True
            entry = _held[self.path]
            entry[1] -= 1
            if entry[1] == 0:
                del _held[self.path]
                # Closing the last descriptor drops the lock. The file
                # stays: removing it would let a third process lock a new
                # file while a second still waits on the old one.
                if entry[0] is not None:
                    os.close(entry[0])
