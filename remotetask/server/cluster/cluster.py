"""Several servers, one queue: heartbeats, recovery and wake-ups.

For stores shared by several servers (``ISharedJobStore``: PostgreSQL).
Each server writes its heartbeat every third of the timeout; every server
puts back in the queue the jobs held by a server whose heartbeat is older
than the timeout (the same policy as a restart on one machine); and a job
added on any server wakes the dispatchers of all of them at once through
the store's notifications, with the once-a-second tick as the fallback;
so does a client waiting on one server for a job another server ran.
"""

import time

from twisted.application.internet import TimerService
from twisted.internet import defer
from twisted.logger import Logger

from remotetask.errors import StoreUnavailable
from remotetask.core.interfaces import ISharedJobStore


def isShared(store):
    """Whether ``store`` can be shared by several servers."""
    return ISharedJobStore.providedBy(store)


class ClusterService(TimerService):

    name = 'cluster'
    log = Logger()

    def __init__(self, store, storeCall, wake, timeout=30.0, clock=None,
                 finished=None):
        super().__init__(timeout / 3, self._beat)
        if clock is not None:
            self.clock = clock
        self.store = store
        self.storeCall = storeCall
        self.wake = wake
        self.finished = finished
        self.timeout = timeout
        self._stopListening = None

    def startService(self):
        self._stopListening = self.store.listen(self.wake, self.finished)
        super().startService()

    @defer.inlineCallbacks
    def _beat(self):
        # A failure is logged, never raised: it would end the LoopingCall.
        try:
            now = time.time()
            yield self.storeCall(self.store.heartbeat, now)
            recovered = yield self.storeCall(self.store.recoverLost, now,
                                             self.timeout)
            if recovered:
                self.log.warn(
                    'Put {count} job(s) of lost servers back in the queue: '
                    '{ids}', count=len(recovered), ids=recovered)
                self.wake()
        except StoreUnavailable:
            pass  # logged once, by the store (its outage); tried again
        except Exception:
            self.log.failure('Heartbeat failed; trying again')

    @defer.inlineCallbacks
    def stopService(self):
        yield super().stopService()
        try:
            # Its tasks are no longer accepted on its account; its row
            # stays, so its running jobs are recovered only if it dies.
            yield self.storeCall(self.store.withdraw)
        except Exception:
            self.log.failure('Withdrawing this server\'s tasks failed; '
                             'they go when its heartbeat is old')
        if self._stopListening is not None:
            yield self.storeCall(self._stopListening)
