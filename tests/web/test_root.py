"""The tree makeRoot builds: XML-RPC where it was, the page beside it,
the same credentials for everything."""

import base64
import xmlrpc.client

import pytest_twisted
from twisted.internet import defer
from twisted.internet.task import Clock

from remotetask.web.plumbing import Cached


def call(web, path, method, *args, headers=None):
    """POST an XML-RPC call; a Deferred of the Response."""
    body = xmlrpc.client.dumps(args, method, allow_none=True).encode()
    return web.request('POST', path, body,
                       dict({'Content-Type': 'text/xml'}, **(headers or {})))


def result(response):
    (value,), _ = xmlrpc.client.loads(response.body)
    return value


def basic(user, password):
    token = base64.b64encode(f'{user}:{password}'.encode()).decode()
    return {'Authorization': f'Basic {token}'}


@pytest_twisted.ensureDeferred
async def test_xmlrpc_answers_posts_at_every_path_as_before(web):
    """XML-RPC still answers POSTs at / and /RPC2 (and any other path but
    /api); GET /RPC2 is still refused as XML-RPC refuses it."""
    first = result(await call(web, '/', 'add', 'echo', {'a': 1}))
    second = result(await call(web, '/RPC2', 'add', 'echo', None))
    third = result(await call(web, '/static', 'getStatus', first))
    assert (second, third) == (first + 1, 'queued')
    assert (await web.get('/RPC2')).code == 405


@pytest_twisted.ensureDeferred
async def test_get_root_is_the_page_with_its_token(web):
    """GET / is the dashboard page, carrying this process's CSRF token,
    with a policy that lets it run code from this site only."""
    page = await web.get('/')
    assert page.code == 200
    assert page.header('content-type') == 'text/html; charset=utf-8'
    assert f'content="{web.csrf}"' in page.text
    assert "script-src 'self'" in page.header('content-security-policy')
    assert page.header('x-frame-options') == 'DENY'
    assert page.header('cache-control') == 'no-store'


@pytest_twisted.ensureDeferred
async def test_static_files_are_served_without_listings(web):
    """The scripts and style sheet come from /static with their types and
    no sniffing; the directory itself is not listed."""
    script = await web.get('/static/app.js')
    assert script.code == 200
    assert script.header('content-type').startswith('text/javascript')
    assert script.header('x-content-type-options') == 'nosniff'
    assert (await web.get('/static/style.css')).header(
        'content-type').startswith('text/css')
    assert (await web.get('/static/')).code == 404
    assert (await web.get('/static/nothing.js')).code == 404


@pytest_twisted.ensureDeferred
async def test_xmlrpc_from_a_page_of_another_site_is_refused(web):
    """A browser posting XML-RPC for a page of another site (which could
    use credentials the browser holds for this one) is refused; the same
    call from a program, or from this site's page, is answered."""
    for headers in ({'Origin': 'http://evil.example'},
                    {'Sec-Fetch-Site': 'cross-site'},
                    {'Sec-Fetch-Site': 'same-site'}, {'Origin': 'null'}):
        response = await call(web, '/', 'add', 'echo', None, headers=headers)
        assert response.code == 403, headers
    assert web.store.count() == 0
    assert result(await call(web, '/', 'add', 'echo', None,
                             headers={'Origin': web.url})) == 1


@pytest_twisted.ensureDeferred
async def test_credentials_guard_the_page_api_metrics_and_actions(
        protectedWeb):
    """With --users, the page, the JSON view, the metrics and every
    action need the credentials XML-RPC needs: without them, 401 and
    nothing changes; with them, the same requests succeed."""
    web = protectedWeb
    jobid = web.service.add('echo', {})
    for path in ('/', '/api/summary', '/metrics', '/static/app.js'):
        assert (await web.get(path)).code == 401, path
    refused = await web.post(f'/api/jobs/{jobid}/cancel')
    assert refused.code == 401
    assert (await call(web, '/', 'getStatus', jobid)).code == 401
    assert web.service.getStatus(jobid) == 'queued'
    wrong = basic('ann', 'guess')
    assert (await web.get('/', headers=wrong)).code == 401
    good = basic('ann', 'secret')
    assert (await web.get('/', headers=good)).code == 200
    assert (await web.get('/metrics', headers=good)).code == 200
    withoutToken = await web.post(f'/api/jobs/{jobid}/cancel', csrf=False,
                                  headers=good)
    assert withoutToken.code == 403
    done = await web.post(f'/api/jobs/{jobid}/cancel', headers=good)
    assert done.json()['status'] == 'cancelled'
    assert result(await call(web, '/RPC2', 'getStatus', jobid,
                             headers=good)) == 'cancelled'


def test_cached_value_is_shared_while_fresh():
    """Requests while a read is in flight share it; the value is kept
    five times as long as it took to read (at least a second); a failed
    read is not kept."""
    clock, reads, pending = Clock(), [], []

    def storeCall(read):
        reads.append(read)
        pending.append(defer.Deferred())
        return pending[-1]

    cached = Cached(storeCall, lambda: None, clock)
    first, second = cached.get(), cached.get()
    assert len(reads) == 1
    clock.advance(2)
    pending[0].callback('one')
    assert (first.result, second.result) == ('one', 'one')
    clock.advance(9.9)
    assert cached.get().result == 'one'
    clock.advance(0.2)
    failed = cached.get()
    pending[1].errback(RuntimeError('store down'))
    assert failed.result.check(RuntimeError)
    failed.addErrback(lambda _: None)
    again = cached.get()
    assert len(reads) == 3
    pending[2].callback('two')
    assert again.result == 'two'
