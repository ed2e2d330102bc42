"""HTTP plumbing the web resources share: JSON answers, the cross-site
check, and a cache that lets many pages share one slow read."""

import json
import math
from urllib.parse import urlsplit

from twisted.internet import defer
from twisted.logger import Logger

from remotetask.wire import answers
from remotetask.wire.marshal import Encoded


def jsonBytes(value):
    """``value`` as JSON; a float JSON has no word for (NaN, infinity),
    which a task may return, is sent as a string rather than breaking the
    whole answer for the browser. Text UTF-8 cannot encode (a lone
    surrogate, which a store may hold) is sent as a JSON escape
    (``\\ud800``), which every JSON parser reads."""
    try:
        text = json.dumps(value, ensure_ascii=False, allow_nan=False)
    except ValueError:
        text = json.dumps(_finite(value), ensure_ascii=False)
    try:
        return text.encode('utf-8')
    except UnicodeEncodeError:
        return json.dumps(_finite(value), ensure_ascii=True).encode('ascii')


class JsonAnswers(answers.Answers):
    """The JSON view's surface: a value as JSON (with a status, given as
    ``(status, value)``), an error as ``{"error": message, "code":
    faultCode}`` with the HTTP status of its kind (``statuses``: error
    class -> status); anything else is a bug: 500, details in the log."""

    contentType = b'application/json; charset=utf-8'
    log = Logger()

    def __init__(self, statuses):
        self.statuses = statuses

    def encode(self, answer):
        if isinstance(answer, Encoded):
            return 200, self.contentType, answer  # written in a thread
        status, value = answer if isinstance(answer, tuple) else (200, answer)
        return status, self.contentType, jsonBytes(value)

    def encodeError(self, failure):
        error = failure.value
        status = next((code for kind, code in self.statuses.items()
                       if isinstance(error, kind)), None)
        if status is None:
            self.log.failure('A JSON request failed', failure)
            status, message = 500, ('The server failed on this request; '
                                    'the details are in its log.')
        else:
            message = str(error)
        return status, self.contentType, jsonBytes(
            dict(error=message, code=getattr(error, 'faultCode', 9)))


def _finite(value):
    if isinstance(value, float) and not math.isfinite(value):
        return str(value)
    if isinstance(value, dict):
        return {key: _finite(item) for key, item in value.items()}
    if isinstance(value, list):
        return [_finite(item) for item in value]
    return value


def header(request, name):
    """The first value of the header ``name`` (bytes), as text, or None."""
    value = request.getHeader(name)
    return None if value is None else value.decode('latin-1')


def isCrossSite(request):
    """Whether a browser says that ``request`` comes from a page of another
    site (``Sec-Fetch-Site``, or an ``Origin`` other than the ``Host``
    asked). Programs other than browsers send neither header, and are not
    affected; a browser cannot be made to leave them out."""
    fetchSite = header(request, b'sec-fetch-site')
    if fetchSite is not None and fetchSite not in ('same-origin', 'none'):
        return True
    origin = header(request, b'origin')
    if origin is None:
        return False
    host = (header(request, b'host') or '').lower()
    return origin == 'null' or urlsplit(origin).netloc.lower() != host


class Cached:
    """A value read in a store thread and kept a while, shared by every
    request that asks meanwhile, so that many open pages polling it cost
    one read. It is kept ``factor`` times as long as it took to read, and
    at least ``minAge`` seconds: on a store where the read is slow, it is
    read less often, and never takes more than a fifth of a thread. A read
    that fails is not kept; every request waiting for it gets the error."""

    def __init__(self, storeCall, read, clock=None, minAge=1.0, factor=5.0):
        from twisted.internet import reactor
        self.storeCall = storeCall
        self.read = read
        self.clock = clock or reactor
        self.minAge = minAge
        self.factor = factor
        self._value = None
        self._until = 0.0
        self._waiters = []

    def get(self):
        """A Deferred of the value: the kept one while fresh."""
        if self._value is not None and self.clock.seconds() < self._until:
            return defer.succeed(self._value)
        waiter = defer.Deferred()
        self._waiters.append(waiter)
        if len(self._waiters) == 1:
            d = self.storeCall(self.read)
            d.addCallbacks(self._arrived, self._lost,
                           (self.clock.seconds(),))
        return waiter

    def _arrived(self, value, started):
        now = self.clock.seconds()
        self._value = value
        self._until = now + max(self.minAge, self.factor * (now - started))
        waiters, self._waiters = self._waiters, []
        for waiter in waiters:
            waiter.callback(value)

    def _lost(self, failure):
        waiters, self._waiters = self._waiters, []
        for waiter in waiters:
            waiter.errback(failure)


def localWorkers(service, dispatcher):
    """This server's workers as its dispatcher sees them now: ``id`` (the
    server's name in a shared store, else None), ``size`` configured,
    ``live`` processes or threads, ``busy`` and the ids of the jobs
    ``running`` here. On the reactor thread, where the dispatcher lives;
    what it returns is then handed to a store thread."""
    workers = dispatcher.workers() if dispatcher is not None else dict(
        size=0, live=0, busy=0, running=[])
    return dict(workers, id=service.routing.serverId)
