"""Issue 14, 2 against the real daemon: caps on open connections, per
client address and in all, and deadlines for a request's headers and
body (slowloris). Each bound is shown from both sides, and other clients
keep being served. Other addresses are other loopback addresses
(127.0.0.2, ...), which Linux routes to the same interface.

Every socket and loop here is bounded in count and time.
"""

import os
import resource
import select
import socket
import time
import xmlrpc.client

import pytest

from remotetask.wire.connections import MAX_LINGERING
from tests.acceptance.daemon import waitUntil
from tests.acceptance.proc import residentMB

SLOW_REQUEST = b'POST / HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: text'


def rawSocket(daemon, host='127.0.0.1', send=SLOW_REQUEST):
    """A connection from ``host`` that has sent ``send`` (by default the
    start of a request's headers, as slowloris does)."""
    sock = socket.create_connection(('127.0.0.1', daemon.port), timeout=30,
                                    source_address=(host, 0))
    if send:
        sock.sendall(send)
    return sock


def answerOf(sock, timeout=30):
    """Everything the server sends until it closes: bytes."""
    sock.settimeout(timeout)
    chunks = []
    try:
        while True:
            chunk = sock.recv(65536)
            if not chunk:
                break
            chunks.append(chunk)
    except ConnectionResetError:
        pass
    return b''.join(chunks)


def served(daemon, host):
    """A client at ``host`` adds a job and sees it done."""
    transport = SourceTransport(host)
    server = xmlrpc.client.ServerProxy(daemon.url, transport=transport,
                                       allow_none=True)
    jobid = server.add('echo', host)
    return server.wait(jobid, 30) == 'completed' and \
        server.getResult(jobid) == host


class SourceTransport(xmlrpc.client.Transport):
    """An XML-RPC transport whose connections come from ``host``."""

    def __init__(self, host):
        super().__init__()
        self.source = host

    def make_connection(self, host):
        connection = super().make_connection(host)
        connection.source_address = (self.source, 0)
        connection.timeout = 30
        return connection


def status(daemon, host='127.0.0.1'):
    """The HTTP status of a GET /api/summary from ``host``."""
    sock = rawSocket(daemon, host, b'GET /api/summary HTTP/1.1\r\n'
                     b'Host: 127.0.0.1\r\nConnection: close\r\n\r\n')
    try:
        return int(answerOf(sock).split(b' ', 2)[1])
    finally:
        sock.close()


def openFiles(pid):
    return len(os.listdir(f'/proc/{pid}/fd'))


def test_connections_per_address_are_capped_others_served(startDaemon):
    """Five slow connections from 127.0.0.1 are held (the cap); a sixth
    from there gets 503 naming --max-connections-per-address at once,
    while 127.0.0.2 is served; once one of the five closes, 127.0.0.1 is
    served again."""
    daemon = startDaemon('--workers=1', '--max-connections-per-address=5',
                         '--header-timeout=60')
    slow = [rawSocket(daemon) for _ in range(5)]
    try:
        refused = rawSocket(daemon, send=None)
        answer = answerOf(refused)
        refused.close()
        assert answer.startswith(b'HTTP/1.1 503 Service Unavailable'), answer
        assert b'127.0.0.1 has 5 connections open' in answer
        assert b'--max-connections-per-address' in answer
        assert served(daemon, '127.0.0.2')
        slow.pop().close()
        waitUntil(lambda: status(daemon) == 200, timeout=10,
                  message='127.0.0.1 served again')
    finally:
        for sock in slow:
            sock.close()


def test_connections_in_all_are_capped_others_served_again(startDaemon):
    """With --max-connections=6, six slow connections from as many
    addresses fill the server: a seventh, from anywhere, gets 503 naming
    --max-connections; when one closes, the next client is served."""
    daemon = startDaemon('--workers=1', '--max-connections=6',
                         '--header-timeout=60')
    slow = [rawSocket(daemon, f'127.0.0.{n}') for n in range(1, 7)]
    try:
        assert status(daemon, '127.0.0.9') == 503
        refused = rawSocket(daemon, '127.0.0.9', send=None)
        answer = answerOf(refused)
        refused.close()
        assert b'(see --max-connections)' in answer
        slow.pop().close()
        waitUntil(lambda: status(daemon, '127.0.0.9') == 200, timeout=10,
                  message='served again')
    finally:
        for sock in slow:
            sock.close()


#: The header deadline of the 400-socket attack, in seconds.
ATTACK_DEADLINE = 4


def fourHundredSlowSockets(startDaemon):
    """The issue's attack, scaled: the daemon may open 256 files, and one
    address opens 400 sockets that send a header line, then neither send
    nor read. Checks what the server does with them (see the test
    below); ``(seconds the 400 took to open, MB the daemon's resident
    size grew by)``."""
    # A listen backlog of 1,024: with Twisted's 50, 400 connects in a
    # burst overflow the kernel's queue and some wait a second for a
    # SYN to be sent again, which would blur the counts below.
    daemon = startDaemon('--workers=1', '--max-connections=150',
                         '--max-connections-per-address=100',
                         f'--header-timeout={ATTACK_DEADLINE}',
                         '--listen=tcp:0:interface=127.0.0.1:backlog=1024')
    pid = daemon.process.pid
    resource.prlimit(pid, resource.RLIMIT_NOFILE, (256, 256))
    before = residentMB(pid)
    sockets, started = [], time.monotonic()
    answers = {}

    def collect(timeout):
        ready, _, _ = select.select(
            [s for s in sockets if s not in answers], [], [], timeout)
        for sock in ready:
            answers[sock] = answerOf(sock, timeout=5)[:40]
        return answers

    def count(start):
        return sum(1 for a in answers.values() if a.startswith(start))
    filesBefore = openFiles(pid)
    try:
        for _ in range(400):
            sockets.append(rawSocket(daemon))
        opened = time.monotonic() - started
        # Otherwise held connections may have met their deadline, and
        # freed their places, before the last sockets came: the counts
        # below would mean nothing.
        assert opened < ATTACK_DEADLINE, f'opening took {opened:.1f} s'
        waitUntil(lambda: len(collect(0.2)) >= 300, timeout=30,
                  message='300 refusals')
        refused = count(b'HTTP/1.1 503 Service Unavailable')
        resets = sum(1 for answer in answers.values() if answer == b'')
        assert len(answers) == 300 and refused >= MAX_LINGERING
        assert refused + resets == 300
        # Held, waiting for their 503 to be read, and the daemon's own.
        assert openFiles(pid) <= filesBefore + 100 + MAX_LINGERING + 5
        for n in range(2, 6):
            assert served(daemon, f'127.0.0.{n}')
        waitUntil(lambda: len(collect(0.2)) == 400, timeout=30,
                  message='every socket answered')
        assert count(b'HTTP/1.1 408 Request Timeout') == 100
        assert time.monotonic() - started >= ATTACK_DEADLINE
    finally:
        for sock in sockets:
            sock.close()
    assert daemon.process.poll() is None
    assert served(daemon, '127.0.0.1')
    return opened, residentMB(pid) - before


def test_four_hundred_slow_sockets_under_256_open_files(startDaemon):
    """400 slow sockets from one address, the daemon limited to 256 open
    files (1,100 such sockets under 1,024 files cut every client off with
    "connection reset"): 100 are held (the per-address cap) and get 408
    at the header deadline; 300 are refused at once: a 503 for the first
    ``MAX_LINGERING`` (64), kept open for the client to read it, and,
    that many waiting already, closed unanswered (a reset, their request
    being unread). Meanwhile clients at other addresses add jobs and see
    them done. Once the burst is over, the daemon's open files are its
    own, the held sockets and the refused ones waiting to be read (read
    from /proc)."""
    fourHundredSlowSockets(startDaemon)


@pytest.mark.perf
def test_four_hundred_slow_sockets_cost_little(startDaemon):
    """The same attack: the 400 sockets are all open within 3 s, and the
    daemon's memory grew by less than 20 MB once it is over."""
    opened, grown = fourHundredSlowSockets(startDaemon)
    print(f'400 slow sockets opened in {opened:.2f} s; RSS +{grown:.1f} MB')
    assert opened < 3
    assert grown < 20


def test_slow_headers_and_slow_bodies_get_408(startDaemon):
    """A client that sends a header byte every half second, or a body
    byte every half second, gets 408 naming the deadline once 2 s have
    passed, and its connection is closed; a client meanwhile is served."""
    daemon = startDaemon('--workers=1', '--header-timeout=2',
                         '--body-timeout=2')
    slowHeaders = rawSocket(daemon, send=b'P')
    slowBody = rawSocket(daemon, send=b'POST / HTTP/1.1\r\nHost: 127.0.0.1'
                         b'\r\nContent-Length: 100\r\n\r\n<')
    started = time.monotonic()
    try:
        for byte in b'OST / HTTP/1.1\r\n':
            try:
                slowHeaders.sendall(bytes([byte]))
                slowBody.sendall(b'x')
            except OSError:
                break
            if select.select([slowHeaders, slowBody], [], [], 0.5)[0] \
                    or time.monotonic() - started > 10:
                break
        assert served(daemon, '127.0.0.2')
        headers, body = answerOf(slowHeaders), answerOf(slowBody)
    finally:
        slowHeaders.close()
        slowBody.close()
    elapsed = time.monotonic() - started
    assert headers.startswith(b'HTTP/1.1 408 Request Timeout'), headers
    assert b'headers did not arrive within 2 s' in headers
    assert b'--header-timeout' in headers
    assert body.startswith(b'HTTP/1.1 408 Request Timeout'), body
    assert b'body did not arrive within 2 s' in body
    assert 2 <= elapsed < 10
