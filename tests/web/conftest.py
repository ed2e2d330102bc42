"""The dashboard's pieces, real, in this process: a TaskService on a SQLite
store, a store thread pool and writer, a dispatcher with thread workers,
and the site
``makeRoot`` builds, listening on a port of 127.0.0.1 in the reactor that
pytest-twisted runs. Requests go over TCP through twisted's ``Agent``.
"""

import io
import json
import os

import pytest
import pytest_twisted
from twisted.internet import defer, reactor, task
from twisted.web.client import Agent, FileBodyProducer, readBody
from twisted.web.http_headers import Headers

from remotetask import SimpleTask, TaskService
from remotetask.server.pipeline.dispatcher import Dispatcher
from remotetask.server.pipeline.relay import ThreadRelay
from remotetask.server.workers.threadpool import ThreadPoolService
from remotetask.server.workers.threadworkers import ThreadWorkerPool
from remotetask.server.pipeline.writer import StoreWriter
from remotetask.store import SQLiteJobStore
from remotetask.web import makeRoot
from remotetask.wire.site import makeSite
from remotetask.wire.xmlrpc import TaskServiceResource
from tests import tasks
from tests.conftest import registerTestTasks

#: How long a test waits for something that takes milliseconds.
PATIENCE = 10.0


class Response:

    def __init__(self, code, headers, body):
        self.code = code
        self.headers = headers
        self.body = body

    def header(self, name):
        values = self.headers.getRawHeaders(name)
        return values[0] if values else None

    def json(self):
        return json.loads(self.body)

    @property
    def text(self):
        return self.body.decode('utf-8')


class WebServer:
    """The site and what it reads, with helpers to talk to it."""

    def __init__(self, directory, users=None, store=None):
        self.store = store or SQLiteJobStore(os.path.join(directory,
                                                          'jobs.sqlite'))
        self.service = registerTestTasks(TaskService(store=self.store))
        # Fails once, then succeeds: for retrying from the dashboard.
        self.service.registry.register(
            'flaky', SimpleTask(tasks.Flaky(succeedOn=2), maxAttempts=1))
        self.pool = ThreadPoolService('test-store', 4)
        self.pool.startService()
        relay = ThreadRelay(reactor)
        self.writer = StoreWriter(self.store, relay)
        self.writer.startService()
        self.workers = ThreadWorkerPool(self.service, 2)
        self.dispatcher = Dispatcher(self.service, self.workers,
                                     self.pool.call, self.writer.call, relay)
        xmlrpc = TaskServiceResource(self.service, self.pool.call,
                                     self.writer.call, self.dispatcher.waiters)
        self.root = makeRoot(xmlrpc, self.service, self.pool.call,
                             self.writer.call, self.dispatcher)
        self.csrf = self.root.children[b'api'].csrfToken.decode()
        self.site = makeSite(self.root, 1024 * 1024, users)
        self.port = reactor.listenTCP(0, self.site, interface='127.0.0.1')
        self.url = f'http://127.0.0.1:{self.port.getHost().port}'
        self.agent = Agent(reactor)

    def startWorkers(self):
        """Run jobs from now on, as the daemon does."""
        self.workers.startService()
        self.dispatcher.startService()

    @defer.inlineCallbacks
    def stop(self):
        yield self.port.stopListening()
        if self.dispatcher.running:
            yield self.dispatcher.stopService()
            yield self.workers.stopService()
        yield self.writer.stopService()
        yield self.pool.stopService()
        self.store.close()

    @defer.inlineCallbacks
    def request(self, method, path, body=None, headers=None):
        """A Deferred of the Response to ``method path``."""
        producer = None if body is None else FileBodyProducer(
            io.BytesIO(body))
        response = yield self.agent.request(
            method.encode(), (self.url + path).encode(),
            Headers({name: [value] for name, value in
                     (headers or {}).items()}), producer)
        content = yield readBody(response)
        return Response(response.code, response.headers, content)

    def get(self, path, headers=None):
        return self.request('GET', path, headers=headers)

    def post(self, path, value=None, csrf=True, headers=None):
        """POST ``value`` as JSON, with the page's CSRF token unless
        ``csrf`` is false (or a string: that token instead)."""
        headers = dict({'Content-Type': 'application/json'},
                       **(headers or {}))
        if csrf:
            headers['X-Remotetask-CSRF'] = (self.csrf if csrf is True
                                            else csrf)
        return self.request('POST', path, json.dumps(value).encode(),
                            headers)


@pytest.fixture
def web(tmp_path):
    """The site on SQLite, its dispatcher not started (jobs stay where
    the test puts them until it calls ``startWorkers()``)."""
    server = WebServer(str(tmp_path))
    yield server
    pytest_twisted.blockon(server.stop())


@pytest.fixture
def protectedWeb(tmp_path):
    """The same, behind HTTP Basic authentication (``--users``): user
    ``ann``, password ``secret``."""
    users = tmp_path / 'users'
    users.write_text('ann:secret\n')
    server = WebServer(str(tmp_path), users=str(users))
    yield server
    pytest_twisted.blockon(server.stop())


@defer.inlineCallbacks
def eventually(check, timeout=PATIENCE, interval=0.05):
    """Call ``check()`` (it may return a Deferred) until it returns
    something true; that. Bounded by ``timeout`` seconds."""
    deadline = reactor.seconds() + timeout
    while True:
        result = yield defer.maybeDeferred(check)
        if result:
            return result
        if reactor.seconds() > deadline:
            raise AssertionError(f'not reached in {timeout} s')
        yield task.deferLater(reactor, interval, lambda: None)
