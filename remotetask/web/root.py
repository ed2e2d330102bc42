"""The resource tree the daemon serves: the XML-RPC endpoint, the
dashboard, its JSON view and the Prometheus metrics.

XML-RPC keeps answering POSTs at every path (``/`` and ``/RPC2`` alike),
as it did before the dashboard existed; only ``/api/...`` takes POSTs of
its own. ``GET /`` is the page, ``/static/...`` its files, ``/api/...`` the
JSON view and ``/metrics`` the metrics; any other GET reaches the XML-RPC
resource as before.

A browser that holds this site's credentials (``--users``) would send
them with a form another site makes it post; so an XML-RPC request that a
browser marks as coming from another site is refused. Programs calling
XML-RPC send no such marks and are not affected.
"""

import secrets

from twisted.web import resource

from remotetask.web.api import ApiResource
from remotetask.web.dashboard import DashboardPage, staticFiles
from remotetask.web.metrics import MetricsResource
from remotetask.web.plumbing import isCrossSite

#: Sent with everything but XML-RPC: no sniffing, no framing, no referrer.
HEADERS = ((b'x-content-type-options', b'nosniff'),
           (b'x-frame-options', b'DENY'),
           (b'referrer-policy', b'no-referrer'))


class SameSiteOnly(resource.Resource):
    """``wrapped`` (the XML-RPC resource), refusing requests a browser
    says come from a page of another site."""

    isLeaf = True

    def __init__(self, wrapped):
        super().__init__()
        self.wrapped = wrapped

    def render(self, request):
        if isCrossSite(request):
            request.setResponseCode(403)
            request.setHeader(b'content-type', b'text/plain; charset=utf-8')
            return b'XML-RPC requests from pages of other sites are refused.\n'
        return self.wrapped.render(request)


class WebRoot(resource.Resource):
    """Sends each request to XML-RPC or to a page, by method and path."""

    def __init__(self, xmlrpcResource):
        super().__init__()
        self.xmlrpc = SameSiteOnly(xmlrpcResource)

    def getChildWithDefault(self, name, request):
        if request.method not in (b'GET', b'HEAD') and name != b'api':
            return self.xmlrpc
        child = self.children.get(name)
        if child is None:
            return self.xmlrpc
        for header, value in HEADERS:
            request.setHeader(header, value)
        return child

    def render(self, request):
        return self.xmlrpc.render(request)


def makeRoot(xmlrpcResource, service, storeCall, writeCall, dispatcher,
             outbox=None, **limits):
    """The tree to serve: ``xmlrpcResource`` (the TaskServiceResource)
    where it always was, and the dashboard beside it, reading ``service``
    through ``storeCall`` (the store thread pool's call), acting through
    ``writeCall`` (the store writer's) and reading this server's workers
    through ``dispatcher`` and waking it after an add as the XML-RPC
    face does; ``limits`` (``parseCall``, ``maxAnswerSize``,
    ``maxPageSize``) go to the JSON view (``ApiResource``). The metrics
    report the answers waiting for their clients in ``outbox``
    (``remotetask.wire.sending.Outbox``).

    The returned root has ``metrics``, whose ``jobEnded(task, seconds,
    ok)`` the dispatcher calls when a run ends (job durations and
    failures). The CSRF token of the page is made here, new each start.
    """
    token = secrets.token_urlsafe(32)
    root = WebRoot(xmlrpcResource)
    metrics = MetricsResource(service, storeCall, dispatcher, outbox)
    root.putChild(b'', DashboardPage(token))
    root.putChild(b'static', staticFiles())
    root.putChild(b'api', ApiResource(service, storeCall, dispatcher, token,
                                      writeCall=writeCall, **limits))
    root.putChild(b'metrics', metrics)
    root.metrics = metrics.jobMetrics
    return root
