"""Issue 20, items 16 and 18 to 20, against the real daemon: small
parsing and HTTP gaps, doubles in digits only, a job's history in ISO
8601 times, and where a malformed int is."""

import datetime
import socket
import xmlrpc.client

import pytest

from tests.acceptance.daemon import INVALID, fault, post, request

ADD = (b"<?xml version='1.0'?>%s<methodCall><methodName>add</methodName>"
       b'<params><param><value><string>echo</string></value></param>'
       b'<param><value>%s</value></param></params></methodCall>')


def test_small_parsing_gaps_are_fault_3(daemon):
    """A bogus status in getJobs' filter, ``<base64>!!!*</base64>``, a
    DOCTYPE bringing an external entity and an int that is not one are
    each fault 3 (before: an empty page, empty bytes, an input of "" that
    was stored, "invalid literal for int()"); nothing of them is stored,
    and the valid forms are taken."""
    server = daemon.proxy()
    with pytest.raises(xmlrpc.client.Fault) as refused:
        server.getJobs({'status': 'bogus'})
    assert refused.value.faultCode == INVALID
    assert 'queued' in refused.value.faultString
    assert server.getJobs({'status': 'start later'})['jobs'] == []
    refusedBase64 = fault(post(daemon, ADD % (b'', b'<base64>!!!*</base64>')))
    assert refusedBase64.faultCode == INVALID
    assert 'not base64' in refusedBase64.faultString
    entity = (b'<!DOCTYPE methodCall [<!ENTITY x SYSTEM "file:///etc/passwd">'
              b']>', b'<string>&x;</string>')
    refusedEntity = fault(post(daemon, ADD % entity))
    assert refusedEntity.faultCode == INVALID
    assert 'DOCTYPE' in refusedEntity.faultString
    refusedInt = fault(post(daemon, ADD % (b'', b'<int>12x</int>')))
    assert refusedInt.faultCode == INVALID
    assert "<int> '12x' in parameter 2 is not an integer" in \
        refusedInt.faultString
    assert server.getJobs({})['jobs'] == []
    status, answer = post(daemon, ADD % (b'', b'<base64>aGk=\n</base64>'))
    assert status == 200
    (jobid,), _ = xmlrpc.client.loads(answer)
    assert server.getJob(jobid)['input'] == b'hi'


def test_http_gaps(daemon):
    """A NUL in a static path is a 404 (a raw one in the request line,
    Twisted's own 400), with no traceback in the log (before: a 500 and
    about 20 lines of critical traceback); a request
    with two Host headers is a 400, whichever comes first (before: the
    last decided, so an evil first one was answered)."""
    assert request(daemon, 'GET', '/static/x%00y.js')[0] == 404
    assert rawStatus(daemon, b'GET /static/a\x00b HTTP/1.1\r\n'
                     b'Host: 127.0.0.1\r\n\r\n') == 400
    assert 'Traceback' not in daemon.log()
    body = xmlrpc.client.dumps((1,), 'getStatus').encode()

    def withHosts(*hosts):
        lines = [b'POST /RPC2 HTTP/1.1'] + [b'Host: ' + host
                                             for host in hosts]
        lines += [b'Content-Type: text/xml',
                  b'Content-Length: %d' % len(body)]
        return b'\r\n'.join(lines) + b'\r\n\r\n' + body
    assert rawStatus(daemon, withHosts(b'evil.example', b'127.0.0.1')) == 400
    assert rawStatus(daemon, withHosts(b'127.0.0.1', b'evil.example')) == 400
    assert rawStatus(daemon, withHosts(b'127.0.0.1')) == 200


def rawStatus(daemon, data):
    """The status of the answer to the bytes ``data``, sent as they are."""
    with socket.create_connection(('127.0.0.1', daemon.port), 10) as sock:
        sock.sendall(data)
        return int(sock.recv(65536).split(b' ', 2)[1])


def test_doubles_are_written_in_digits(daemon):
    """Doubles go out in decimal notation only, as the XML-RPC spec writes
    them (before: ``1e+300``, ``1e-05``, which Tcl's client cannot read),
    and read back exactly."""
    server = daemon.proxy()
    values = [1e300, 1e-05, -2.5e-7, 0.5, 123456789012345678.0]
    jobid = server.add('echo', values)
    assert server.wait(jobid, 30) == 'completed'
    status, answer = post(daemon, xmlrpc.client.dumps(
        (jobid,), 'getResult').encode())
    assert status == 200
    assert b'e+' not in answer and b'e-' not in answer
    assert b'<double>0.00001</double>' in answer
    assert xmlrpc.client.loads(answer)[0][0] == values


def test_history_times_are_iso_8601(daemon, tmp_path):
    """getJob's ``history`` gives each failed attempt's ``started`` and
    ``completed`` as ISO 8601 strings in UTC, as every other time of the
    struct (before: epoch doubles)."""
    server = daemon.proxy()
    jobid = server.add('failsOnce', {'marker': str(tmp_path / 'marker')},
                       {'maxAttempts': 2})
    assert server.wait(jobid, 30) == 'completed'
    (attempt,) = server.getJob(jobid)['history']
    for name in ('started', 'completed'):
        moment = datetime.datetime.fromisoformat(attempt[name])
        assert moment.utcoffset() == datetime.timedelta(0)
    assert attempt['error'] == 'the first attempt fails'


def test_a_header_line_over_twisteds_limit_is_431(daemon):
    """A header line of 20,000 bytes is answered 431 naming the limit
    (before: the connection was closed without an answer); one of 16,000
    bytes, and a request whose body holds a 100 KB line, are served."""
    def withHeader(value, body=b'x'):
        return (b'POST /RPC2 HTTP/1.1\r\nHost: 127.0.0.1\r\nX-Pad: ' + value
                + b'\r\nContent-Type: text/xml\r\nContent-Length: %d\r\n\r\n'
                % len(body) + body)
    with socket.create_connection(('127.0.0.1', daemon.port), 10) as sock:
        sock.sendall(withHeader(b'a' * 20000))
        answer = sock.recv(65536)
    assert answer.startswith(b'HTTP/1.1 431') and b'16384 bytes' in answer
    body = xmlrpc.client.dumps(('x' * 100000,), 'getStatus').encode()
    assert rawStatus(daemon, withHeader(b'a' * 16000, body)) == 200
