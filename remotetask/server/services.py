"""The small services the daemon's tree is made of: ordered stopping, the
web listener and closing the store."""

import os

from twisted.application.service import MultiService, Service
from twisted.internet import defer
from twisted.logger import Logger


class OrderedServices(MultiService):
    """Start children in order; stop them in reverse, each one after the
    previous has finished stopping (``MultiService`` stops them all at
    once, which would stop the store while running jobs still need it).
    """

    @defer.inlineCallbacks
    def stopService(self):
        Service.stopService(self)
        for child in reversed(list(self)):
            yield child.stopService()


class WebService(Service):
    """Listen on an endpoint; write the bound port to ``portfile``."""

    name = 'web'
    log = Logger()

    def __init__(self, endpoint, site, portfile=None):
        self.endpoint = endpoint
        self.site = site
        self.portfile = portfile
        self.port = None

    def startService(self):
        super().startService()
        d = self.endpoint.listen(self.site)
        d.addCallback(self._listening)
        d.addErrback(self._failed)

    def _listening(self, port):
        self.port = port
        address = port.getHost()
        self.log.info('remotetask listening on {host}:{port}',
                      host=address.host, port=address.port)
        if self.portfile:
            partial = f'{self.portfile}.partial'
            with open(partial, 'w') as file:
                file.write(f'{address.port}\n')
            os.replace(partial, self.portfile)

    def _failed(self, failure):
        from twisted.internet import reactor
        self.log.failure('Cannot listen', failure)
        reactor.stop()

    def stopService(self):
        super().stopService()
        if self.portfile and os.path.exists(self.portfile):
            os.remove(self.portfile)
        if self.port is not None:
            return self.port.stopListening()


class StoreService(Service):
    """Closes the store when the server stops, after everything else."""

    name = 'store'

    def __init__(self, store):
        self.store = store

    def stopService(self):
        super().stopService()
        self.store.close()


