"""The bare ceiling: a Twisted XML-RPC server whose only method is `echo`.

No store, no queue, no worker: what remotetask's wire alone costs one
client on this machine, so its figures can be read as a fraction of that.
It serves `system.multicall` as remotetask does (Twisted's XMLRPC does not
provide it), and writes its port to the file named on the command line
once it listens, as remotetask's --portfile does.

Usage: python echoserver.py PORTFILE
"""

import os
import sys

from twisted.internet import defer, endpoints, reactor
from twisted.web import server, xmlrpc


class Echo(xmlrpc.XMLRPC):
    """The root resource: echo, and the system.multicall sub-handler."""

    def __init__(self):
        super().__init__(allowNone=True)
        self.putSubHandler('system', System(self))

    def xmlrpc_echo(self, value):
        return value


class System(xmlrpc.XMLRPC):
    """system.multicall: many calls in one request, each its own result."""

    def __init__(self, root):
        super().__init__(allowNone=True)
        self.root = root

    def xmlrpc_multicall(self, calls):
        def one(call):
            method = self.root.lookupProcedure(call['methodName'])
            d = defer.maybeDeferred(method, *call['params'])
            d.addCallbacks(lambda result: [result],
                           lambda failure: {'faultCode': 1,
                                            'faultString': str(failure.value)})
            return d
        return defer.gatherResults([one(call) for call in calls])


def main(portFile):
    endpoint = endpoints.serverFromString(reactor, 'tcp:0:interface=127.0.0.1')
    d = endpoint.listen(server.Site(Echo()))

    def listening(port):
        with open(portFile + '.tmp', 'w') as f:
            f.write(str(port.getHost().port))
        # Renamed into place so a reader never sees a half-written port.
        os.replace(portFile + '.tmp', portFile)

    d.addCallback(listening)
    d.addErrback(lambda failure: (failure.printTraceback(), reactor.stop()))
    reactor.run()


if __name__ == '__main__':
    main(sys.argv[1])
