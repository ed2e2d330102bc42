"""The dashboard page and the files it loads, all served by the daemon.

No build step and no CDN: ``static/`` holds the page, plain JavaScript
modules and one style sheet, served as they are. The page is the one
file not served as it is: it carries this process's CSRF token (in a
``<meta>`` element), which the scripts send back with every action.
Its Content-Security-Policy lets it load code from this site only, so
that nothing a job holds (shown as text, never as HTML) could run as a
script even if it got into the page.
"""

import os

from twisted.web import pages, resource, static

STATIC = os.path.join(os.path.dirname(os.path.abspath(__file__)), 'static')

#: Code, styles and data from this site only; no frames, no plug-ins.
POLICY = (b"default-src 'none'; script-src 'self'; style-src 'self'; "
          b"img-src 'self' data:; connect-src 'self'; base-uri 'none'; "
          b"form-action 'self'; frame-ancestors 'none'")


class DashboardPage(resource.Resource):
    """``GET /``: the page, with the CSRF token in it."""

    isLeaf = True

    def __init__(self, csrfToken):
        super().__init__()
        with open(os.path.join(STATIC, 'index.html'), encoding='utf-8') as f:
            template = f.read()
        # The token is URL-safe base64: nothing in it needs escaping.
        self.body = template.replace('{{csrf}}', csrfToken).encode('utf-8')

    def render_GET(self, request):
        request.setHeader(b'content-type', b'text/html; charset=utf-8')
        request.setHeader(b'content-security-policy', POLICY)
        # The token changes when the server restarts; never keep an old one.
        request.setHeader(b'cache-control', b'no-store')
        return self.body


class StaticFiles(static.File):
    """``/static/...``: the scripts and style sheet; no directory
    listings, and no index page (the page is ``/``, with its token)."""

    indexNames = []

    def directoryListing(self):
        return pages.notFound()


def staticFiles():
    return StaticFiles(STATIC)
