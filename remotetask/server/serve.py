"""``remotetask serve``: the twistd service, run in the foreground.

It builds the very service ``twistd -n remotetask`` builds (``tap``), so
the two cannot drift apart, and logs to stdout.
"""

import sys

from twisted.application import app, service
from twisted.internet import reactor
from twisted.logger import globalLogBeginner, textFileLogObserver
from twisted.python import usage

from remotetask.server import tap


def serve(argv):
    options = tap.Options()
    try:
        options.parseOptions(argv)
        top = tap.makeService(options)
    except usage.UsageError as error:
        print(f'{options}\nremotetask serve: {error}', file=sys.stderr)
        return 2
    globalLogBeginner.beginLoggingTo([textFileLogObserver(sys.stdout)])
    application = service.Application('remotetask')
    top.setServiceParent(application)
    app.startApplication(application, False)
    reactor.run()
    return 0
