"""Request bodies kept in temporary files while they arrive, bounded.

Twisted keeps a body over 100 KB (or of unknown length) in a temporary
file. Bounded only by ``--max-connections`` × ``--max-request-size``,
180 bodies held just short of their end took 1.9 GB of ``$TMPDIR``; a
full disk dropped the request with no answer; and the files, counted
nowhere, could use up the descriptors the server needs for its workers.
So the site's ``Spool`` holds at most ``maxBytes`` (``--max-spool-size``)
in at most ``maxFiles`` files at once; a body that would pass either, or
that the disk refuses, is answered 503 (``SpoolFull``).
"""

import io
import tempfile

#: The default of ``--max-spool-size``.
MAX_SPOOL = 256 * 1024 * 1024
#: How many bodies may be held in files at once.
MAX_SPOOL_FILES = 64
#: Bodies announced shorter than this are kept in memory, as Twisted does.
IN_MEMORY = 100000


class SpoolFull(Exception):
    """The body cannot be held: the spool is full, or the disk is."""


class Spool:
    """The files of the bodies arriving now, and the bytes in them."""

    def __init__(self, maxBytes=MAX_SPOOL, maxFiles=MAX_SPOOL_FILES):
        self.maxBytes = maxBytes
        self.maxFiles = maxFiles
        self.bytes = 0
        self.files = 0

    def contentFile(self, length):
        """Where a body of ``length`` bytes (None: unknown) is kept."""
        if length is not None and length < IN_MEMORY:
            return io.BytesIO()
        if self.files >= self.maxFiles:
            raise SpoolFull(f'The server holds {self.maxFiles} request '
                            'bodies in files already; try again shortly.')
        try:
            # Unbuffered: a full disk is told at the write, not later.
            file = tempfile.TemporaryFile(buffering=0)
        except OSError as error:
            raise SpoolFull(f'The server cannot keep the request body '
                            f'({error.strerror}); try again later.') from None
        self.files += 1
        return SpooledFile(self, file)


class SpooledFile:
    """A body's temporary file, counted in its ``Spool`` until closed."""

    def __init__(self, spool, file):
        self.spool = spool
        self.file = file
        self.size = 0
        self.closed = False

    def write(self, data):
        spool = self.spool
        if spool.bytes + len(data) > spool.maxBytes:
            raise SpoolFull(
                f'The request bodies arriving now take all the room the '
                f'server keeps for them ({spool.maxBytes} bytes, see '
                '--max-spool-size); try again shortly.')
        try:
            view = memoryview(data)
            while view:
                view = view[self.file.write(view):]
        except OSError as error:
            raise SpoolFull(f'The server cannot keep the request body '
                            f'({error.strerror}); try again later.') from None
        self.size += len(data)
        spool.bytes += len(data)

    def close(self):
        if self.closed:
            return
        self.closed = True
        self.spool.bytes -= self.size
        self.spool.files -= 1
        self.file.close()

    def seek(self, *args):
        return self.file.seek(*args)

    def tell(self):
        return self.file.tell()

    def read(self, *args):
        return self.file.read(*args)
