"""The process pool as an operator sees it: workers that die are
replaced, also when the system refuses new processes for a while, and
/metrics counts the workers that really run."""

import os
import resource
import signal
import socket

from tests.acceptance.daemon import isRunning, metric, waitUntil
from tests.acceptance.proc import children


def liveWorkers(daemon):
    return metric(daemon, 'remotetask_workers')


def test_a_worker_refused_by_the_system_is_replaced_once_it_can_be(
        startDaemon):
    """With every file descriptor taken by client connections, a worker
    that dies cannot be replaced (too many open files): the server says
    so, /metrics is not fooled, and once the connections go the pool is
    whole again, without a restart (issue 14, defect 2)."""
    daemon = startDaemon('--workers=2', '--max-connections-per-address=1000',
                         '--header-timeout=120')
    assert daemon.proxy().wait(daemon.proxy().add('echo', 1), 30) == \
        'completed'
    pid = daemon.process.pid
    workers = children(pid)
    assert len(workers) == 2 and liveWorkers(daemon) == 2
    opened = len(os.listdir(f'/proc/{pid}/fd'))
    _, hard = resource.prlimit(pid, resource.RLIMIT_NOFILE)
    resource.prlimit(pid, resource.RLIMIT_NOFILE, (opened + 8, hard))
    sockets = []
    try:
        for _ in range(40):
            sockets.append(socket.create_connection(
                ('127.0.0.1', daemon.port), timeout=10))
        waitUntil(lambda: len(os.listdir(f'/proc/{pid}/fd')) >= opened + 8,
                  message='the server out of file descriptors')
        os.kill(workers[0], signal.SIGKILL)
        waitUntil(lambda: 'Cannot start a worker process' in daemon.log(),
                  message='the respawn refused')
        assert 'Too many open files' in daemon.log()
    finally:
        for connection in sockets:
            connection.close()
    waitUntil(lambda: liveWorkers(daemon) == 2, timeout=60,
              message='the pool whole again')
    assert len(children(pid)) == 2
    assert daemon.proxy().wait(daemon.proxy().add('echo', 2), 30) == \
        'completed'


def test_a_cancelled_thread_pool_job_frees_its_worker(startDaemon):
    """A job in the thread pool that stops when it sees it was cancelled
    gives its thread back: the worker is no longer counted busy and the
    next job runs on it (issue 11, point 8)."""
    daemon = startDaemon('--pool=thread', '--workers=1')
    server = daemon.proxy()
    jobid = server.add('pollsCancel')
    waitUntil(lambda: isRunning(server, jobid))
    assert metric(daemon, 'remotetask_workers_busy') == 1
    server.cancel(jobid)
    waitUntil(lambda: metric(daemon, 'remotetask_workers_busy') == 0,
              message='the thread free again')
    after = server.add('echo', 1)
    assert server.wait(after, 30) == 'completed'
    assert server.getStatus(jobid) == 'cancelled'
