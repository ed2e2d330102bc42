"""A worker's stdin, written at once when nothing waits to go down it.

Twisted's ``transport.write`` only buffers: the bytes go out on the
reactor's next iteration, which costs the daemon, per message, taking the
pipe off the read set and adding it to the write set (two ``epoll_ctl``),
a wake-up of ``epoll_wait``, ``doWrite`` with the reactor's dispatch
around it, and two ``epoll_ctl`` more to put the pipe back (a worker's
stdin is watched for reading to notice that the child closed it). For a
job added alone that is a second reactor iteration beside the one its
answer costs (Twisted has no eager write: twisted/twisted#5303, open).

``EagerPipe`` writes a message at once, with the pipe's own
``writeSomeData`` (non-blocking; it says how much the pipe took), when
Twisted holds nothing for that pipe, and hands what the pipe did not take
(all of it, when the pipe is full, or an error) to the transport's
``write`` as before, so that the bytes keep their order and Twisted keeps
its buffering, its flow control and its handling of a closed pipe. It uses
Twisted's public API only: ``IReactorFDSet.getWriters()`` tells whether
the pipe has bytes buffered (a ``FileDescriptor`` is among the writers
exactly while it has), and ``FileDescriptor.writeSomeData`` writes.
"""

from twisted.internet import abstract


class EagerPipe:
    """Write to the stdin of a process spawned by the reactor: at once
    when Twisted has nothing buffered for it, else through the transport
    (after what waits)."""

    def __init__(self, transport, writer):
        self.transport = transport
        #: The process's stdin (Twisted's ``ProcessWriter``).
        self.writer = writer

    @classmethod
    def of(cls, transport):
        """The way to write to ``transport``'s process: an EagerPipe when
        its stdin is one of the reactor's file descriptors, otherwise the
        transport itself (a test's fake process, a reactor without
        pipes)."""
        writer = getattr(transport, 'pipes', {}).get(0)
        if isinstance(writer, abstract.FileDescriptor):
            return cls(transport, writer)
        return transport

    def _idle(self):
        """Whether bytes written now would be next on the pipe, and
        nothing Twisted does for it is bypassed: connected, not closing,
        no producer to pace, nothing buffered."""
        writer = self.writer
        return (writer.connected and not writer.disconnecting
                and writer.producer is None
                and writer not in writer.reactor.getWriters())

    def write(self, data):
        if self._idle():
            sent = self.writer.writeSomeData(data)
            if sent == len(data):
                return
            # A full pipe took part or none (0); an error comes back as an
            # exception, which Twisted meets again and handles when it
            # writes what follows.
            if type(sent) is int and sent > 0:
                data = data[sent:]
        self.transport.write(data)
