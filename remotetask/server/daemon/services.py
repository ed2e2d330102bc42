"""The small services the daemon's tree is made of: ordered stopping, the
web listener and closing the store."""

import os
import signal
import threading

from twisted.application.service import MultiService, Service
from twisted.internet import defer
from twisted.logger import Logger


class OrderedServices(MultiService):
    """Start children in order; stop them in reverse, each one after the
    previous has finished stopping (``MultiService`` stops them all at
    once, which would stop the store while running jobs still need it).

    While it stops, a further SIGTERM is logged in one line (the
    reactor's own handler would try to stop it again and log a
    ReactorNotRunning traceback); a further SIGINT, a second Ctrl-C,
    calls ``hurry``: running jobs get no more of their grace period.
    """

    log = Logger()
    #: Called (in the reactor thread) at a second SIGINT: stop waiting
    #: for running jobs (``Dispatcher.hurry``).
    hurry = None

    @defer.inlineCallbacks
    def stopService(self):
        Service.stopService(self)
        self._quietFurtherSignals()
        for child in reversed(list(self)):
            # A child that fails to stop is logged and passed over, as
            # MultiService does: the ones after it (the writer, the
            # store) must still stop, or the store is never closed.
            try:
                yield child.stopService()
            except Exception:
                self.log.failure('Stopping {service} failed',
                                 service=getattr(child, 'name', None)
                                 or repr(child))

    def _quietFurtherSignals(self):
        if threading.current_thread() is not threading.main_thread():
            return
        for number in (signal.SIGTERM, signal.SIGINT):
            # Only where the reactor handles the signal (it restores its
            # predecessors' handlers when it ends).
            handler = signal.getsignal(number)
            if callable(handler) and handler is not \
                    signal.default_int_handler:
                signal.signal(number, self._whileStopping)

    def _whileStopping(self, number, frame):
        if number == signal.SIGINT and self.hurry is not None:
            from twisted.internet import reactor
            reactor.callFromThread(self.hurry)
            return
        self.log.info('Received {signal} while stopping; running jobs still '
                      'get their grace period (a second SIGINT, Ctrl-C, '
                      'ends it)', signal=signal.Signals(number).name)


class WebService(Service):
    """Serve ``site`` on a port bound before the store was opened (see
    ``startup.listenNow``); write the port to ``portfile``."""

    name = 'web'
    log = Logger()

    def __init__(self, listening, site, portfile=None):
        self.listening = listening
        self.site = site
        self.portfile = portfile

    def startService(self):
        super().startService()
        self.listening.serve(self.site)
        url = self.listening.dashboardURL()
        self.log.info('remotetask listening on {address}{dashboard}',
                      address=self.listening.address(),
                      dashboard=f'; dashboard at {url}' if url else '')
        if self.portfile:
            partial = f'{self.portfile}.partial'
            with open(partial, 'w') as file:
                file.write(f'{self.listening.port.getHost().port}\n')
            os.replace(partial, self.portfile)

    def stopService(self):
        super().stopService()
        if self.portfile and os.path.exists(self.portfile):
            os.remove(self.portfile)
        return self.listening.port.stopListening()


class StoreService(Service):
    """Closes the store when the server stops, after everything else."""

    name = 'store'

    def __init__(self, store):
        self.store = store

    def startService(self):
        super().startService()
        lock = getattr(self.store, 'lock', None)
        if lock is not None:
            # twistd daemonises after the store is opened: the holder of
            # the lock is this process now, not the one that took it.
            lock.writePid()

    def stopService(self):
        super().stopService()
        self.store.close()


