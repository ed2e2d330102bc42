"""``twistd remotetask``: the service tree of the daemon.

``makeService`` only composes: the store, its read pool and its writer,
the worker pool, the dispatcher and the web site, in that order, so that
stopping (the reverse order) first stops taking requests, then lets
running jobs finish within the grace period and records how they ended,
then stops the workers, the writer and the store. Before the store is
opened, the tasks are loaded and the port is bound (``startup``), so
that a server that cannot start leaves the store alone.
"""

import collections
import os
import time

from remotetask.core import cron
from remotetask.core.limits import Limit
from remotetask.core.registry import EXAMPLES_GROUP, TASKS_GROUP, TaskRegistry
from remotetask.core.service import TaskService
from remotetask.core.task import describe
from remotetask.errors import InvalidArgument
from remotetask.server.cluster.cluster import ClusterService, isShared
from remotetask.server.pipeline.dispatcher import Dispatcher
from remotetask.server.pipeline.notifier import Notifier
from remotetask.server.daemon.memory import collectLess, returnLargeBlocks
from remotetask.server.daemon.options import Options  # noqa: F401  (twistd looks here)
from remotetask.server.workers.processpool import ProcessWorkerPool
from remotetask.server.pipeline.relay import ThreadRelay
from remotetask.server.cluster.retention import RetentionService
from remotetask.server.daemon.services import (
    OrderedServices, StoreService, WebService)
from remotetask.server.daemon.startup import (
    CannotStart, listenNow, logStartup, openStore)
from remotetask.server.workers.threadpool import ThreadPoolService
from remotetask.server.workers.threadworkers import ThreadWorkerPool
from remotetask.server.pipeline.writer import StoreWriter
from remotetask.web import makeRoot
from remotetask.wire.connections import ConnectionLimits
from remotetask.wire.sending import Outbox
from remotetask.wire.site import makeSite
from remotetask.wire.spool import Spool
from remotetask.wire.tokens import TokenBook
from remotetask.wire.xmlrpc import TaskServiceResource


def makeRegistry(options):
    groups = [TASKS_GROUP] + ([EXAMPLES_GROUP] if options['examples']
                              else [])
    registry = TaskRegistry(groups)
    if options['tasks']:
        registry.addImportDirectory(os.getcwd())
    for name, path in options['tasks'].items():
        try:
            registry.registerPath(name, path)
        except Exception as error:
            raise CannotStart(f'--task {name}={path}: {error}')
    if options['commands']:
        try:
            registry.registerCommands(options['commands'])
        except (OSError, ValueError) as error:
            raise CannotStart(f'--commands: {error}')
    # Import the entry points' modules now, before the reactor runs: the
    # dispatcher looks tasks up on the reactor thread.
    registry.getAvailableTasks()
    return registry


def commandLineLimits(options, registry):
    """``{task: Limit}`` from ``--limit`` and ``--rate``, each for a task
    this server serves."""
    concurrency, rates = options['concurrency'], options['rates']
    available = registry.getAvailableTasks()
    for name in sorted(set(concurrency) | set(rates)):
        if name not in available:
            raise CannotStart(
                f'--limit/--rate {name}: this server has no task of that '
                f'name (it has: {", ".join(sorted(available)) or "none"})')
    return {name: Limit(concurrency.get(name), rates.get(name))
            for name in set(concurrency) | set(rates)}


def announceTasks(service):
    """Record, in a store shared by several servers, the tasks this server
    serves, before it takes a request: an add on any server is accepted
    for them from then on."""
    descriptions = {name: describe(task) for name, task in
                    service.getAvailableTasks().items()}
    try:
        service.store.announce(descriptions, service.routing.taskLimits(),
                               time.time())
    except Exception as error:
        raise CannotStart(f"cannot record this server's tasks in the store: "
                          f'{error}') from None


def clientWriter(store, relay, options, top, writer):
    """The writer of the clients' writes (adds, cancels, starts).

    On a store that one server holds (SQLite: one writer at a time), the
    server's one writer. On a shared store (PostgreSQL), whose
    transactions run side by side, a writer of their own: an add then
    never waits behind the claims, starts and ends in the pipeline's
    batch (measured: 230 to 300 jobs/s, one add per call). Either way
    the feeder hears of an add once, after its commit (the dispatcher's
    one wake-up), never before it."""
    if not isShared(store):
        return writer
    clientWriter = StoreWriter(store, relay,
                               maxPending=options['max-pending-writes'])
    clientWriter.setName('client-writer')
    clientWriter.setServiceParent(top)
    return clientWriter


def makeService(options):
    """The daemon's service tree, composed as the module docstring says."""
    from twisted.internet import reactor
    listening, store, service = startingService(options)
    relay = ThreadRelay(reactor)
    top = OrderedServices()
    pipeline = addPipeline(top, store, service, options, relay)
    addWebSite(top, service, options, relay, pipeline, listening)
    top.taskService = service
    collectLess()
    return top


def startingService(options):
    """``(listening, store, service)``: the port bound, the store, and the
    ``TaskService`` on it, the store opened once the tasks are loaded and
    the port is bound; ``CannotStart`` for a task, a limit or a store
    that will not do."""
    registry = makeRegistry(options)
    limits = commandLineLimits(options, registry)
    listening = listenNow(options['endpoint'], options['listen'])
    returnLargeBlocks()
    store = openStore(options['store'], options['server-id'],
                      options['heartbeat-timeout'], options['store-timeout'])
    logStartup(options['store'], options['workers'], options['pool'],
               registry)
    service = TaskService(store=store, registry=registry,
                          timezone=options['timezone'] or cron.localZone(),
                          limits=limits)
    try:
        service.routing.taskLimits()
    except InvalidArgument as error:
        raise CannotStart(f"a task's limits: {error}") from None
    if isShared(store):
        announceTasks(service)
    service.notifyAllow = tuple(options['notify-allow'])
    service.notifyRetryTime = options['notify-retry-time']
    service.maxAfter, service.maxSteps = (options['max-after'],
                                          options['max-steps'])
    store.maxPassed = options['max-answer-size']
    return listening, store, service


#: What the web site needs of the job pipeline.
Pipeline = collections.namedtuple('Pipeline',
                                  'store storePool writer dispatcher')


def addPipeline(top, store, service, options, relay):
    """Add to ``top``, in their order, the store, its threads and writer,
    the worker pool, the notifier, the dispatcher, retention and, on a
    shared store, the cluster; return the ``Pipeline``."""
    StoreService(store).setServiceParent(top)
    # Reads (and housekeeping: heartbeats, retention) on a pool of
    # threads; every other write on the one writer thread, in groups.
    storePool = ThreadPoolService('remotetask-store',
                                  options['store-threads'])
    storePool.setServiceParent(top)
    writer = StoreWriter(store, relay,
                         maxPending=options['max-pending-writes'])
    writer.setServiceParent(top)
    if options['pool'] == 'process':
        pool = ProcessWorkerPool(service.registry, options['workers'])
    else:
        pool = ThreadWorkerPool(service, options['workers'], relay=relay)
    pool.setServiceParent(top)
    # Before the dispatcher, so that it stops after it: the ends recorded
    # while running jobs finish at shutdown are told too.
    notifier = Notifier(service, storePool.call, writer.call,
                        method=options['notify-method'],
                        timeout=options['notify-timeout'],
                        concurrency=options['notify-concurrency'])
    notifier.setServiceParent(top)
    dispatcher = Dispatcher(service, pool, storePool.call, writer.call,
                            relay, grace=options['grace'],
                            shared=isShared(store),
                            maxWaiters=options['max-waiters'],
                            logJobs=options['log-jobs'])
    dispatcher.onNotifyOwed = notifier.wake
    if not isShared(store):
        # A claim joins the batch that made its jobs claimable.
        writer.beforeCommit = dispatcher.feeder.joinClaim
    dispatcher.setServiceParent(top)
    top.hurry = dispatcher.hurry
    RetentionService(store, storePool.call,
                     options['keep-finished']).setServiceParent(top)
    if isShared(store):
        ClusterService(
            store, storePool.call, lambda: relay(dispatcher.added),
            options['heartbeat-timeout'],
            finished=lambda jobid, status: relay(dispatcher.ended, jobid,
                                                 status),
        ).setServiceParent(top)
    return Pipeline(store, storePool, writer, dispatcher)


def addWebSite(top, service, options, relay, pipeline, listening):
    """Add to ``top`` the web site on ``listening``: XML-RPC, the
    dashboard and its JSON view, behind the logins and the connection
    limits; last, so that it is the first to stop."""
    storeCall = pipeline.storePool.call
    # Large request bodies are parsed here, off the reactor thread, and
    # not on the store threads, which serve the reads meanwhile.
    parsePool = ThreadPoolService('remotetask-parse', 2)
    parsePool.setServiceParent(top)
    answerLimits = dict(parseCall=parsePool.call,
                        maxAnswerSize=options['max-answer-size'],
                        maxPageSize=options['max-page-size'])
    clients = clientWriter(pipeline.store, relay, options, top,
                           pipeline.writer)
    dispatcher = pipeline.dispatcher
    resource = TaskServiceResource(service, storeCall, clients.call,
                                   dispatcher.waiters, **answerLimits)
    outbox = Outbox(options['max-answer-memory'], options['send-timeout'])
    root = makeRoot(resource, service, storeCall, clients.call,
                    dispatcher, outbox, **answerLimits)
    dispatcher.onJobEnded = root.metrics.jobEnded
    tokens = TokenBook(service.apiTokens, storeCall) \
        if options['users'] else None
    site = makeSite(root, options['max-request-size'], options['users'],
                    options['access-log'], options['allowed-hosts'],
                    options['login-delay'], outbox,
                    Spool(options['max-spool-size']), options['roles'],
                    tokens)
    site = ConnectionLimits(
        site, options['max-connections-per-address'],
        options['max-connections'], options['header-timeout'],
        options['body-timeout'])
    WebService(listening, site, options['portfile']).setServiceParent(top)
