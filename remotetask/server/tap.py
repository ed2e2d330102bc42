"""``twistd remotetask``: the service tree of the daemon.

``makeService`` only composes: the store, its read pool and its writer,
the worker pool, the dispatcher and the web site, in that order, so that
stopping (the reverse order) first stops taking requests, then lets
running jobs finish within the grace period and records how they ended,
then stops the workers, the writer and the store.
"""

from twisted.internet import endpoints
from twisted.python import usage

from remotetask.core import cron
from remotetask.core.registry import EXAMPLES_GROUP, TASKS_GROUP, TaskRegistry
from remotetask.core.service import TaskService
from remotetask.server.cluster import ClusterService, isShared
from remotetask.server.dispatcher import Dispatcher
from remotetask.server.memory import returnLargeBlocks
from remotetask.server.options import Options  # noqa: F401  (twistd looks here)
from remotetask.server.retention import RetentionService
from remotetask.server.services import (
    OrderedServices, StoreService, WebService)
from remotetask.server.processpool import ProcessWorkerPool
from remotetask.server.relay import ThreadRelay
from remotetask.server.threadpool import ThreadPoolService
from remotetask.server.threadworkers import ThreadWorkerPool
from remotetask.server.writer import StoreWriter
from remotetask.store import openStore
from remotetask.web import makeRoot
from remotetask.wire.connections import ConnectionLimits
from remotetask.wire.sending import Outbox
from remotetask.wire.site import makeSite
from remotetask.wire.xmlrpc import TaskServiceResource


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
    returnLargeBlocks()
    try:
        store = openStore(options['store'], options['server-id'],
                          options['store-timeout'])
    except Exception as error:
        raise usage.UsageError(f'--store {options["store"]}: {error}')
    service = TaskService(store=store, registry=makeRegistry(options),
                          timezone=options['timezone'] or cron.localZone())
    relay = ThreadRelay(reactor)
    top = OrderedServices()
    StoreService(store).setServiceParent(top)
    # Reads (and housekeeping: heartbeats, retention) on a pool of
    # threads; every other write on the one writer thread, in groups.
    storePool = ThreadPoolService('remotetask-store',
                                  options['store-threads'])
    storePool.setServiceParent(top)
    writer = StoreWriter(store, relay)
    writer.setServiceParent(top)
    if options['pool'] == 'process':
        pool = ProcessWorkerPool(service.registry, options['workers'])
    else:
        pool = ThreadWorkerPool(service, options['workers'])
    pool.setServiceParent(top)
    dispatcher = Dispatcher(service, pool, storePool.call, writer.call,
                            relay, grace=options['grace'],
                            shared=isShared(store))
    dispatcher.setServiceParent(top)
    RetentionService(store, storePool.call,
                     options['keep-finished']).setServiceParent(top)
    if isShared(store):
        ClusterService(
            store, storePool.call, lambda: relay(dispatcher.added),
            options['heartbeat-timeout'],
            finished=lambda jobid, status: relay(dispatcher.ended, jobid,
                                                 status),
        ).setServiceParent(top)
    # Large request bodies are parsed here, off the reactor thread, and
    # not on the store threads, which serve the reads meanwhile.
    parsePool = ThreadPoolService('remotetask-parse', 2)
    parsePool.setServiceParent(top)
    limits = dict(parseCall=parsePool.call,
                  maxAnswerSize=options['max-answer-size'],
                  maxPageSize=options['max-page-size'])
    resource = TaskServiceResource(service, storePool.call, writer.call,
                                   dispatcher.waiters, **limits)
    outbox = Outbox(options['max-answer-memory'], options['send-timeout'])
    root = makeRoot(resource, service, storePool.call, writer.call,
                    dispatcher, outbox, **limits)
    dispatcher.onJobEnded = root.metrics.jobEnded
    site = makeSite(root, options['max-request-size'], options['users'],
                    options['access-log'], options['allowed-hosts'],
                    options['login-delay'], outbox)
    site = ConnectionLimits(
        site, options['max-connections-per-address'],
        options['max-connections'], options['header-timeout'],
        options['body-timeout'])
    endpoint = endpoints.serverFromString(reactor, options['listen'])
    WebService(endpoint, site, options['portfile']).setServiceParent(top)
    top.taskService = service
    return top
