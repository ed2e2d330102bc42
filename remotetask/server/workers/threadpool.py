"""A thread pool that starts and stops as a Twisted service.

The server owns its pools rather than sharing the reactor's: store calls
get their own threads, so a burst of slow requests cannot starve job
bookkeeping of threads, and stopping the service joins them.
"""

from twisted.application.service import Service
from twisted.internet import threads
from twisted.python.threadpool import ThreadPool


class ThreadPoolService(Service):

    def __init__(self, name, size, reactor=None):
        from twisted.internet import reactor as defaultReactor
        self.name = name
        self.reactor = reactor or defaultReactor
        self.pool = ThreadPool(1, size, name)

    def call(self, function, *args, **kwargs):
        """Run ``function`` in the pool; a Deferred of its result."""
        return threads.deferToThreadPool(self.reactor, self.pool, function,
                                         *args, **kwargs)

    def startService(self):
        super().startService()
        self.pool.start()

    def stopService(self):
        super().stopService()
        # Joining threads blocks; do it off the reactor thread.
        return threads.deferToThread(self.pool.stop)
