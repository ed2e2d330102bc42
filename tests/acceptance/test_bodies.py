"""Issue 20, item 17: compressed request bodies, decoded within
``--max-request-size`` counted in decoded bytes, against the real
daemon."""

import gzip
import xmlrpc.client
import zlib

import pytest

from tests.acceptance.test_answer_sizes import MB, Peak
from tests.acceptance.test_hardening import request

SIZE_FAULT = 7


def call(daemon, body, encoding, *, kind=b'text/xml'):
    """``(status, body)`` of a POST of ``body`` with Content-Encoding
    ``encoding``."""
    status, _, answer = request(daemon, 'POST', '/RPC2', body, {
        'Content-Type': kind, 'Content-Encoding': encoding})
    return status, answer


def test_a_gzip_request_of_xmlrpc_client_is_answered(startDaemon):
    """Python's xmlrpc.client with ``encode_threshold`` sends gzip bodies
    (before: fault 3 "not well-formed"): they are decoded and answered,
    the job's input as it was sent."""
    daemon = startDaemon('--workers=1')
    url = f'http://127.0.0.1:{daemon.port}/'
    transport = xmlrpc.client.Transport()
    transport.encode_threshold = 0
    server = xmlrpc.client.ServerProxy(url, transport=transport)
    text = 'compressible ' * 10000
    jobid = server.add('echo', text)
    assert server.wait(jobid, 30) == 'completed'
    assert server.getResult(jobid) == text


@pytest.mark.parametrize('compress', [
    zlib.compress, lambda data: zlib.compress(data)[2:-4]],
    ids=['zlib', 'raw'])
def test_deflate_bodies_are_decoded_both_ways(startDaemon, compress):
    """``Content-Encoding: deflate`` (Perl's RPC::XML) in its zlib form,
    and raw as some clients send it, is decoded."""
    daemon = startDaemon('--workers=1')
    body = xmlrpc.client.dumps(('echo', [1, 2]), 'add').encode()
    status, answer = call(daemon, compress(body), 'deflate')
    assert status == 200
    (jobid,), _ = xmlrpc.client.loads(answer)
    assert daemon.proxy().getJob(jobid)['input'] == [1, 2]


def test_the_size_bound_applies_to_the_decoded_bytes(startDaemon):
    """With --max-request-size 1M, a gzip body decoding to just under 1 MB
    is answered, and one of 11 KB decoding to 11 MB is fault 7 naming
    the option, decoded no further than the bound: the server's memory
    rises by a few MB at most."""
    daemon = startDaemon('--workers=1', '--max-request-size=1M')
    head = b"<?xml version='1.0'?><methodCall><methodName>add</methodName>" \
           b'<params><param><value><string>echo</string></value></param>' \
           b'<param><value><string>'
    tail = b'</string></value></param></params></methodCall>'
    fits = head + b'x' * (MB - len(head) - len(tail)) + tail
    status, answer = call(daemon, gzip.compress(fits), 'gzip')
    assert status == 200 and xmlrpc.client.loads(answer)[0][0] > 0
    bomb = gzip.compress(head + b'x' * (11 * MB) + tail)
    assert len(bomb) < 20000
    with Peak(daemon.process.pid) as peak:
        status, answer = call(daemon, bomb, 'gzip')
    with pytest.raises(xmlrpc.client.Fault) as refused:
        xmlrpc.client.loads(answer)
    assert refused.value.faultCode == SIZE_FAULT
    assert '--max-request-size' in refused.value.faultString
    assert peak.cost < 8, peak.cost


def test_other_encodings_are_415_and_broken_ones_400(startDaemon):
    """An encoding the server does not decode (br) is answered 415 naming
    those it does; a body that is not the gzip it claims, or is cut
    short, 400; the server answers the next request as ever."""
    daemon = startDaemon('--workers=1')
    body = xmlrpc.client.dumps((1,), 'getStatus').encode()
    status, answer = call(daemon, body, 'br')
    assert status == 415 and b'gzip or deflate' in answer
    status, answer = call(daemon, b'not gzip at all', 'gzip')
    assert status == 400 and b'not valid gzip' in answer
    status, answer = call(daemon, gzip.compress(body)[:-10], 'gzip')
    assert status == 400 and b'cut short' in answer
    status, answer = call(daemon, body, 'identity')
    assert status == 200
