"""Issue 20, item 17: compressed request bodies, decoded within
``--max-request-size`` counted in decoded bytes, against the real
daemon."""

import gzip
import os
import socket
import sys
import xmlrpc.client
import zlib

import pytest

from tests.acceptance.daemon import MB, TOO_LARGE, Daemon, post, waitUntil
from tests.acceptance.proc import Peak

def encoded(daemon, body, encoding):
    """``(status, body)`` of an XML-RPC ``body`` sent with
    Content-Encoding ``encoding``."""
    return post(daemon, body, headers={'Content-Type': 'text/xml',
                                       'Content-Encoding': encoding})


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
    status, answer = encoded(daemon, compress(body), 'deflate')
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
    status, answer = encoded(daemon, gzip.compress(fits), 'gzip')
    assert status == 200 and xmlrpc.client.loads(answer)[0][0] > 0
    bomb = gzip.compress(head + b'x' * (11 * MB) + tail)
    assert len(bomb) < 20000
    with Peak(daemon.process.pid) as peak:
        status, answer = encoded(daemon, bomb, 'gzip')
    with pytest.raises(xmlrpc.client.Fault) as refused:
        xmlrpc.client.loads(answer)
    assert refused.value.faultCode == TOO_LARGE
    assert '--max-request-size' in refused.value.faultString
    assert peak.cost < 8, peak.cost


def test_other_encodings_are_415_and_broken_ones_400(startDaemon):
    """An encoding the server does not decode (br) is answered 415 naming
    those it does; a body that is not the gzip it claims, or is cut
    short, 400; the server answers the next request as ever."""
    daemon = startDaemon('--workers=1')
    body = xmlrpc.client.dumps((1,), 'getStatus').encode()
    status, answer = encoded(daemon, body, 'br')
    assert status == 415 and b'gzip or deflate' in answer
    status, answer = encoded(daemon, b'not gzip at all', 'gzip')
    assert status == 400 and b'not valid gzip' in answer
    status, answer = encoded(daemon, gzip.compress(body)[:-10], 'gzip')
    assert status == 400 and b'cut short' in answer
    status, answer = encoded(daemon, body, 'identity')
    assert status == 200


def holdBody(daemon, length, sent):
    """A connection that announces a body of ``length`` bytes and sends
    ``sent`` of them; the socket."""
    connection = socket.create_connection(('127.0.0.1', daemon.port), 10)
    connection.sendall(b'POST /RPC2 HTTP/1.1\r\nHost: 127.0.0.1\r\n'
                       b'Content-Type: text/xml\r\nContent-Length: %d\r\n'
                       b'\r\n' % length + b' ' * sent)
    return connection


def spooled(pid):
    """The bytes in the temporary files (deleted, still open) of ``pid``."""
    total = 0
    for fd in os.listdir(f'/proc/{pid}/fd'):
        try:
            if os.readlink(f'/proc/{pid}/fd/{fd}').endswith('(deleted)'):
                total += os.stat(f'/proc/{pid}/fd/{fd}').st_size
        except OSError:
            pass
    return total


def addBody(size):
    """An add whose body is ``size`` bytes (padded with spaces)."""
    body = xmlrpc.client.dumps(('echo', 1), 'add').encode()
    return body.replace(b'<methodCall>', b'<methodCall>' +
                        b' ' * (size - len(body)))


def test_bodies_held_in_files_are_bounded_in_bytes(startDaemon):
    """With --max-spool-size 1M, three bodies of 400 KB held short of
    their end take 900 KB of it: a fourth is answered 503 naming the
    option (before: bounded only by connections × request size, 1.9 GB);
    once they are gone, the same request is answered."""
    daemon = startDaemon('--workers=1', '--max-spool-size=1M')
    held = [holdBody(daemon, 400000, 300000) for _ in range(3)]
    try:
        waitUntil(lambda: spooled(daemon.process.pid) == 900000,
                  message='900 KB held')
        status, answer = encoded(daemon, addBody(400000), 'identity')
        assert status == 503 and b'--max-spool-size' in answer
    finally:
        for connection in held:
            connection.close()
    waitUntil(lambda: encoded(daemon, addBody(400000), 'identity')[0] == 200,
              message='the spool emptied')


class SmallDisk(Daemon):
    """A daemon that may write no file past 2 MB (RLIMIT_FSIZE): a disk
    that fills up, as the server sees it."""

    def command(self):
        limit = ('import os, resource, sys; resource.setrlimit('
                 'resource.RLIMIT_FSIZE, (2 << 20, 2 << 20)); '
                 'os.execv(sys.argv[1], sys.argv[1:])')
        return [sys.executable, '-c', limit, *super().command()]


def test_a_full_disk_is_a_503_not_a_dropped_request(tmp_path):
    """A body the disk cannot take (here a file may not pass 2 MB) is
    answered 503 saying why (before: no answer, an "Unhandled Error" in
    the log); smaller requests are served meanwhile and after."""
    daemon = SmallDisk(str(tmp_path), args=['--workers=1']).start()
    try:
        status, answer = encoded(daemon, addBody(3 * MB), 'identity')
        assert status == 503 and b'File too large' in answer, answer
        assert 'Unhandled Error' not in daemon.log()
        status, answer = encoded(daemon, addBody(500000), 'identity')
        assert status == 200 and xmlrpc.client.loads(answer)[0][0] > 0
    finally:
        daemon.kill()
