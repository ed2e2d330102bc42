"""The worker process's stdin (``workerinput``): recalls are answered
while a job runs and before the next one starts, jobs sent ahead run in
order, and the worker ends when the server hangs up. Real worker
processes on real pipes, with tasks held by files the test creates."""

import json
import os
import select
import subprocess
import sys
import threading
import time

import pytest

from remotetask.core.registry import TaskRegistry
from remotetask.server.workers.workerinput import Requests
from remotetask.server.workers.workerprotocol import decode, frame, PREFIX

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(
    os.path.abspath(__file__))))
#: How long a test waits for what must come (a hang's bound, not a speed).
PATIENCE = 30


class Worker:
    """A worker process as the pool starts it, its pipes in our hands."""

    def __init__(self, **config):
        registry = TaskRegistry()
        registry.registerPath('echo', 'tests.tasks:echo')
        registry.registerPath('gate', 'tests.tasks:gate')
        config = json.dumps(dict(config, parent=os.getpid(),
                                 registry=registry.toConfig()))
        self.process = subprocess.Popen(
            [sys.executable, '-m', 'remotetask.server.workers.workerprocess',
             config], stdin=subprocess.PIPE, stdout=subprocess.PIPE,
            env=dict(os.environ, PYTHONPATH=ROOT))
        self.buffer = b''

    def send(self, *messages):
        self.process.stdin.write(frame(list(messages)))
        self.process.stdin.flush()

    def hangUp(self):
        self.process.stdin.close()

    def _more(self):
        """Read what comes next; False at the end of stdout."""
        fd = self.process.stdout.fileno()
        if not select.select([fd], [], [], PATIENCE)[0]:
            raise AssertionError(f'nothing from the worker in {PATIENCE} s')
        data = os.read(fd, 65536)
        self.buffer += data
        return bool(data)

    def _fill(self, size):
        while len(self.buffer) < size:
            if not self._more():
                raise AssertionError('the worker closed its stdout')

    def frame(self):
        """The next frame's ``[(header, body)]``."""
        self._fill(PREFIX.size)
        length, = PREFIX.unpack_from(self.buffer)
        self._fill(PREFIX.size + length)
        payload = self.buffer[PREFIX.size:PREFIX.size + length]
        self.buffer = self.buffer[PREFIX.size + length:]
        return decode(payload)

    def headers(self):
        """The next frame's headers, without ``took``."""
        return [{key: value for key, value in header.items()
                 if key != 'took'} for header, _ in self.frame()]

    def exitStatus(self):
        """The status it exits with after saying nothing more."""
        while self._more():
            pass
        assert self.buffer == b''
        return self.process.wait(PATIENCE)

    def kill(self):
        if self.process.poll() is None:
            self.process.kill()
        self.process.wait()
        self.process.stdout.close()


@pytest.fixture
def startWorker():
    started = []

    def start(**config):
        started.append(Worker(**config))
        return started[-1]
    yield start
    for worker in started:
        worker.kill()


def gated(jobid, path):
    """A job that runs until ``path`` exists."""
    return {'run': jobid, 'task': 'gate'}, json.dumps({'path': str(path)})


def echo(jobid, input='1'):
    return {'run': jobid, 'task': 'echo'}, input


def test_a_job_waiting_behind_a_running_one_is_recalled_while_it_runs(
        startWorker, tmp_path):
    """A recall of a job queued behind a long one is answered while the
    long one still runs (it cannot end before the test lets it): the job
    is given back, never started."""
    worker = startWorker()
    gate = tmp_path / 'gate'
    worker.send(gated(1, gate), echo(2))
    assert worker.headers() == [{'started': 1}]
    worker.send(({'recall': 2}, None))
    assert worker.headers() == [{'recalled': 2}]
    gate.touch()
    assert worker.headers() == [{'ended': 1, 'ok': True}]
    worker.hangUp()
    assert worker.exitStatus() == 0


def test_a_recall_that_arrived_before_the_next_job_starts_is_honoured(
        startWorker, tmp_path):
    """With no watcher reading during the job (its interval an hour), a
    recall already sent when the running job ends is read before the job
    it recalls would start: that job never starts."""
    worker = startWorker(watchInterval=3600)
    gate = tmp_path / 'gate'
    worker.send(gated(1, gate), echo(2), echo(3))
    assert worker.headers() == [{'started': 1}]
    worker.send(({'recall': 2}, None))
    gate.touch()
    assert worker.headers() == [{'ended': 1, 'ok': True}, {'recalled': 2}]
    assert worker.headers() == [{'started': 3}]
    assert worker.headers() == [{'ended': 3, 'ok': True}]
    worker.hangUp()
    assert worker.exitStatus() == 0


def test_jobs_sent_ahead_run_in_order_each_end_with_the_next_start(
        startWorker):
    """Jobs sent in one message run in order; each end goes with the next
    start, and the last end before the worker waits for more. An input
    larger than one read arrives whole."""
    worker = startWorker()
    big = json.dumps('x' * 200000)
    worker.send(echo(1), echo(2, big), echo(3))
    assert worker.headers() == [{'started': 1}]
    assert worker.headers() == [{'ended': 1, 'ok': True, 'started': 2}]
    (header, body), = worker.frame()
    assert (header['ended'], header['started'], body) == (2, 3, big)
    assert worker.headers() == [{'ended': 3, 'ok': True}]
    worker.hangUp()
    assert worker.exitStatus() == 0


def test_an_idle_worker_ends_when_the_server_hangs_up(startWorker):
    """The end of stdin (the server gone) ends an idle worker."""
    worker = startWorker()
    worker.send(echo(1))
    assert worker.headers() == [{'started': 1}]
    assert worker.headers() == [{'ended': 1, 'ok': True}]
    worker.hangUp()
    assert worker.exitStatus() == 0


@pytest.mark.parametrize('interval', [0.01, 3600])
def test_a_hang_up_during_a_job_ends_the_worker_after_it(
        startWorker, tmp_path, interval):
    """A hang-up while a job runs (read by the watcher, or, when it does
    not read, after the job) lets the job finish and say so; the jobs
    behind it do not start; then the worker ends."""
    worker = startWorker(watchInterval=interval)
    gate = tmp_path / 'gate'
    worker.send(gated(1, gate), echo(2))
    assert worker.headers() == [{'started': 1}]
    worker.hangUp()
    gate.touch()
    assert worker.headers() == [{'ended': 1, 'ok': True}]
    assert worker.exitStatus() == 0


class Recorded:
    """Stands for ``Replies``: what is sent, with an event per send."""

    def __init__(self):
        self.sent = []
        self.news = threading.Event()

    def send(self, header, body=None):
        self.sent.append(header)
        self.news.set()

    def flush(self):
        pass


def test_a_dozing_watcher_is_roused_by_the_next_job():
    """After a spell without jobs the watcher stops looking; the next
    job's start rouses it, and a recall sent during that job is
    answered while it runs."""
    reading, writing = os.pipe()
    replies = Recorded()
    requests = Requests(reading, replies, interval=0.001, dozeAfter=0.005)
    threading.Thread(target=requests.watch, daemon=True).start()
    deadline = time.monotonic() + PATIENCE
    while not requests.dozing and time.monotonic() < deadline:
        time.sleep(0.001)
    assert requests.dozing, 'the watcher never dozed'
    os.write(writing, frame([echo(1), echo(2)]))
    assert requests.take() == (1, 'echo', '1')
    requests.begin()
    os.write(writing, frame([({'recall': 2}, None)]))
    assert replies.news.wait(PATIENCE), 'the recall was not answered'
    requests.end()
    assert replies.sent == [{'recalled': 2}]
    os.close(writing)
    assert requests.take() is None
    os.close(reading)
