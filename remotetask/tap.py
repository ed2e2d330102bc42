"""``twistd remotetask``: the options and the service tree of the daemon.

``makeService`` only composes: a store thread pool, the worker pool, the
dispatcher and the web site, in that order, so that stopping (the reverse
order) first stops taking requests, then lets running jobs finish within
the grace period, then stops the workers and the store.
"""

import os
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from twisted.application.service import MultiService, Service
from twisted.internet import defer, endpoints
from twisted.logger import Logger
from twisted.python import usage

from remotetask import cron
from remotetask.cluster import ClusterService, isShared
from remotetask.dispatch import Dispatcher
from remotetask.registry import EXAMPLES_GROUP, TASKS_GROUP, TaskRegistry
from remotetask.retention import RetentionService, parseKeep
from remotetask.service import TaskService
from remotetask.site import makeSite
from remotetask.store import openStore
from remotetask.threadpool import ThreadPoolService
from remotetask.workerpool import ProcessWorkerPool, ThreadWorkerPool
from remotetask.web import makeRoot
from remotetask.wire import checkWireValue
from remotetask.xmlrpc import TaskServiceResource

DEFAULT_LISTEN = 'tcp:8770:interface=127.0.0.1'
DEFAULT_STORE = 'sqlite:remotetask.sqlite'


def _size(text):
    """A byte count, with an optional K, M or G suffix."""
    units = {'K': 1024, 'M': 1024 ** 2, 'G': 1024 ** 3}
    text = text.strip().upper().removesuffix('B')
    factor = units.get(text[-1:], 1)
    number = text[:-1] if text[-1:] in units else text
    try:
        value = int(float(number) * factor)
    except ValueError:
        raise usage.UsageError(f'not a size: {text!r} (e.g. 10M)') from None
    if value <= 0:
        raise usage.UsageError('--max-request-size must be positive')
    return value


class Options(usage.Options):
    synopsis = '[options]'
    longdesc = ('Run the remotetask server: XML-RPC clients add jobs for '
                'named tasks and ask for their results; a pool of workers '
                'runs them, and cron jobs run on their schedule.')

    optFlags = [
        ['examples', None,
         'Enable the example tasks echo and sleep (for a first run).'],
        ['access-log', None, 'Log a line for every HTTP request.'],
    ]
    optParameters = [
        ['listen', 'l', DEFAULT_LISTEN,
         'Where to listen, as an endpoint string; ssl:... for TLS.'],
        ['store', 's', DEFAULT_STORE,
         'The job store: sqlite:FILE, memory: or a postgresql:// URL.'],
        ['workers', 'w', os.cpu_count() or 1,
         'How many jobs run at once.', int],
        ['pool', None, 'process',
         'Run jobs in worker processes (process) or threads (thread).'],
        ['timezone', None, None,
         'The zone cron schedules are read in (default: the local one).'],
        ['users', None, None,
         'A password file (user:password lines); when given, every '
         'request needs HTTP Basic credentials.'],
        ['max-request-size', None, 10 * 1024 * 1024,
         'The largest request body accepted (K, M, G suffixes).', _size],
        ['portfile', None, None,
         'Write the port listened on to this file (for --listen tcp:0).'],
        ['commands', None, None,
         'A file declaring tasks that run external programs.'],
        ['grace', None, 30.0,
         'Seconds running jobs get to finish when the server stops.',
         float],
        ['store-threads', None, 4,
         'Threads for store calls.', int],
        ['server-id', None, None,
         'With a shared store: a name for this server that stays the same '
         'across restarts, so that it takes back its own unfinished jobs '
         'at once when it starts (default: a new one each start).'],
        ['keep-finished', None, 'completed=7d,error=30d,cancelled=30d',
         'How long finished jobs are kept before they are removed, per '
         'status: AGE as 90s, 15m, 12h, 7d, 2w or forever.'],
        ['heartbeat-timeout', None, 30.0,
         'With a shared store: seconds without a heartbeat after which '
         "a server's running jobs are put back in the queue.", float],
    ]

    def __init__(self):
        super().__init__()
        self['tasks'] = {}

    def opt_task(self, value):
        """Declare a task: NAME=package.module:function (repeatable)."""
        name, sep, path = value.partition('=')
        if not sep or not name or ':' not in path:
            raise usage.UsageError(
                f'--task needs NAME=package.module:function, not {value!r}')
        self['tasks'][name] = path

    def postOptions(self):
        if self['pool'] not in ('process', 'thread'):
            raise usage.UsageError('--pool is process or thread')
        if self['workers'] < 1:
            raise usage.UsageError('--workers must be at least 1')
        if self['timezone']:
            try:
                self['timezone'] = ZoneInfo(self['timezone'])
            except (ZoneInfoNotFoundError, ValueError):
                raise usage.UsageError(
                    f'unknown time zone {self["timezone"]!r}') from None
        try:
            self['keep-finished'] = parseKeep(self['keep-finished'])
        except ValueError as error:
            raise usage.UsageError(f'--keep-finished: {error}') from None
        for name in ('users', 'commands'):
            if self[name] and not os.path.isfile(self[name]):
                raise usage.UsageError(f'--{name}: no file {self[name]!r}')


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


def makeRegistry(options):
    groups = [TASKS_GROUP] + ([EXAMPLES_GROUP] if options['examples']
                              else [])
    registry = TaskRegistry(groups)
    for name, path in options['tasks'].items():
        try:
            registry.registerPath(name, path)
        except Exception as error:
            raise usage.UsageError(f'--task {name}={path}: {error}')
    if options['commands']:
        try:
            registry.registerCommands(options['commands'])
        except (OSError, ValueError) as error:
            raise usage.UsageError(f'--commands: {error}')
    # Import the entry points' modules now, before the reactor runs: the
    # dispatcher looks tasks up on the reactor thread.
    registry.getAvailableTasks()
    return registry


def makeService(options):
    from twisted.internet import reactor
    try:
        store = openStore(options['store'], options['server-id'])
    except Exception as error:
        raise usage.UsageError(f'--store {options["store"]}: {error}')
    service = TaskService(store=store, registry=makeRegistry(options),
                          timezone=options['timezone'] or cron.localZone())
    top = OrderedServices()
    StoreService(store).setServiceParent(top)
    storePool = ThreadPoolService('remotetask-store',
                                  options['store-threads'])
    storePool.setServiceParent(top)
    if options['pool'] == 'process':
        workers = ProcessWorkerPool(service.registry, options['workers'])
    else:
        workers = ThreadWorkerPool(service, options['workers'])
    workers.setServiceParent(top)
    dispatcher = Dispatcher(service, workers, storePool.call,
                            grace=options['grace'],
                            checkOutput=checkWireValue)
    dispatcher.setServiceParent(top)
    RetentionService(store, storePool.call,
                     options['keep-finished']).setServiceParent(top)
    if isShared(store):
        ClusterService(
            store, storePool.call, dispatcher.wakeFromThread,
            options['heartbeat-timeout'],
            finished=dispatcher.finishedElsewhereFromThread,
        ).setServiceParent(top)
    resource = TaskServiceResource(service, storePool.call, dispatcher)
    root = makeRoot(resource, service, storePool.call, dispatcher)
    dispatcher.onJobEnded = root.metrics.jobEnded
    site = makeSite(root, options['max-request-size'], options['users'],
                    options['access-log'])
    endpoint = endpoints.serverFromString(reactor, options['listen'])
    WebService(endpoint, site, options['portfile']).setServiceParent(top)
    top.taskService = service
    return top
