"""``remotetask serve``: the twistd service, run in the foreground.

It builds the very service ``twistd -n remotetask`` builds (``tap``), so
the two cannot drift apart, and logs to stdout. A bad option is one line
on stderr and exit status 2; a server that cannot start (its port taken,
its store held by another server) one line and status 1.
"""

import sys

from twisted.application import app, service
from twisted.internet import reactor
from twisted.logger import globalLogBeginner, textFileLogObserver
from twisted.python import usage

from remotetask.server.daemon import tap
from remotetask.server.daemon.startup import CannotStart


class ServeOptions(tap.Options):
    synopsis = 'Usage: remotetask serve [options]'


def serve(argv):
    options = ServeOptions()
    try:
        options.parseOptions(argv)
    except usage.UsageError as error:
        print(f'remotetask serve: {error} (see remotetask serve --help)',
              file=sys.stderr)
        return 2
    try:
        top = tap.makeService(options)
    except CannotStart as error:
        print(f'remotetask serve: {error.message}', file=sys.stderr)
        return 1
    globalLogBeginner.beginLoggingTo([textFileLogObserver(sys.stdout)])
    application = service.Application('remotetask')
    top.setServiceParent(application)
    app.startApplication(application, False)
    reactor.run()
    return 0
