"""The daemon's composition (``tap.makeService``): each part gets the
others it must talk to. A line lost here keeps every part's own tests
green, so the wiring is checked on its own."""

import gc
import threading

import pytest

from remotetask.server.daemon.options import Options
from remotetask.server.daemon.tap import makeService
from tests.server.fakes import RecordingReactor


@pytest.fixture
def daemonTree(tmp_path):
    options = Options()
    options.parseOptions([f'--store=sqlite:{tmp_path}/jobs.sqlite',
                          '--examples', '--workers=2',
                          '--listen=tcp:0:interface=127.0.0.1'])
    threshold = gc.get_threshold()
    top = makeService(options)
    yield top
    top.getServiceNamed('store').store.close()
    # The daemon's collector settings, which are the test process's too.
    gc.unfreeze()
    gc.set_threshold(*threshold)


def test_the_daemon_collector_walks_its_start_no_more(daemonTree):
    """Composed, the daemon has the objects of its start frozen (never
    walked by the collector again) and collects its youngest objects
    every YOUNG_ALLOCATIONS allocations, not every 700."""
    from remotetask.server.daemon.memory import YOUNG_ALLOCATIONS
    assert gc.get_freeze_count() > 0
    assert gc.get_threshold()[0] == YOUNG_ALLOCATIONS


def test_services_start_in_the_order_that_lets_them_stop_safely(daemonTree):
    """Store, its reads and its writer first, the web last: stopping (in
    reverse) stops taking requests before the dispatcher lets running
    jobs finish, the notifier after the dispatcher (the jobs that end
    while it drains are owed their calls), and the store after everything
    that writes; the parsing of large requests stops once the web does."""
    names = [service.name for service in daemonTree]
    assert names == ['store', 'remotetask-store', 'store-writer', 'workers',
                     'notifier', 'dispatcher', 'retention',
                     'remotetask-parse', 'web']


def test_the_parts_are_connected_as_drawn(daemonTree):
    """The dispatcher drives the worker pool and tells the metrics of
    ended runs; the XML-RPC resource writes through the writer, reads
    through the store pool and waits through the dispatcher's waiters."""
    dispatcher = daemonTree.getServiceNamed('dispatcher')
    writer = daemonTree.getServiceNamed('store-writer')
    reads = daemonTree.getServiceNamed('remotetask-store')
    pool = daemonTree.getServiceNamed('workers')
    site = daemonTree.getServiceNamed('web').site
    root = getattr(site, 'wrappedFactory', site).resource
    assert dispatcher.pool is pool and pool.handler is dispatcher
    metrics = root.children[b'metrics']
    assert dispatcher.onJobEnded == metrics.jobMetrics.jobEnded
    resource = root.xmlrpc.wrapped
    assert resource.writeCall == writer.call
    assert resource.storeCall == reads.call
    assert resource.waiters is dispatcher.waiters
    assert resource.service is daemonTree.taskService


def test_the_service_tells_the_dispatcher_of_adds_and_ends(daemonTree):
    """An add and an end made through the service in another thread (a
    legacy host's) reach the dispatcher through the relay, once
    committed: the feeder is woken, waiters and the cancel watch are
    told."""
    dispatcher = daemonTree.getServiceNamed('dispatcher')
    relay = daemonTree.getServiceNamed('store-writer').relay
    relay.reactor = RecordingReactor()
    told = []
    dispatcher.added = lambda batch=None: told.append('added')
    dispatcher.endedMany = told.extend
    service = daemonTree.taskService
    made = []

    def addAndCancel():
        made.append(service.add('echo', 1))
        service.cancel(made[0])
    thread = threading.Thread(target=addAndCancel)
    thread.start()
    thread.join()
    jobid, = made
    assert told == []
    for function, args in relay.reactor.calls:
        function(*args)
    assert told == ['added', (jobid, 'cancelled')]


def test_the_feeder_claims_in_the_writers_batches_of_a_local_store(
        daemonTree):
    """On a store one server holds, the feeder is told of adds inside
    their transaction and joins its claim to the writer's batch (the
    writer's ``beforeCommit``): an add and its claim cost one
    transaction."""
    writer = daemonTree.getServiceNamed('store-writer')
    feeder = daemonTree.getServiceNamed('dispatcher').feeder
    assert writer.beforeCommit == feeder.joinClaim
    daemonTree.taskService.add('echo', 1)
    assert feeder._pending
