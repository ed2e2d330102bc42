"""The worker process: runs jobs one at a time for the process pool.

Started by ``remotetask.server.workers.processpool`` as ``python -m
remotetask.server.workers.workerprocess CONFIG``; it speaks
``remotetask.server.workers.workerprotocol`` on stdin and stdout. It needs no
reactor: it does one thing at a time, and a task that crashes, hangs or
leaks takes only this process with it, which the pool replaces.

The server may send jobs ahead (when tasks are fast, so that a worker
never waits for the next one), several to a message. The main thread
reads them itself between jobs, and a watcher thread reads while one
runs long, to answer recalls: the server takes back jobs queued behind
one that runs long (``workerinput``). The result is encoded
and checked here, where the task ran, and sent as the store will keep it.
The running job's progress reports go out from a third thread at a
bounded rate (``ProgressOutbox``). A job's end and the next job's start
go back in one message (``Replies``).
"""

import json
import os
import sys
import threading
import time

from remotetask.core import codec, lifetime, progress
from remotetask.core.registry import TaskRegistry
from remotetask.core.runner import Outcome, runTask
from remotetask.errors import NoSuchTask
from remotetask.server.workers.workerinput import INTERVAL, Requests
from remotetask.server.workers.workerprotocol import frame
from remotetask.wire.carried import checkWireValue


class Replies:
    """The server's side of stdout, shared by the threads. A job's end
    waits (``add``) to share a message with the start of the next job,
    sent as it starts (``started``), or, when no job is next, goes before the
    worker blocks for one (``workerinput.Requests.take``): so a busy
    worker sends one message per job, and nothing waits while a job runs
    (a start is sent before its job runs: a job that kills its worker has
    started)."""

    def __init__(self, stream):
        self.stream = stream
        self._lock = threading.Lock()
        self._waiting = []

    def send(self, header, body=None):
        """Send now, after what waits."""
        with self._lock:
            self._waiting.append((header, body))
            self._write()

    def started(self, jobid):
        """Say now that ``jobid`` starts: in the header of the end that
        waits last, if one does (``workerprotocol``: one message a job)."""
        with self._lock:
            if self._waiting and 'ended' in self._waiting[-1][0]:
                self._waiting[-1][0]['started'] = jobid
            else:
                self._waiting.append(({'started': jobid}, None))
            self._write()

    def add(self, header, body=None):
        """Send with the next ``send`` or ``flush``."""
        with self._lock:
            self._waiting.append((header, body))

    def flush(self):
        with self._lock:
            if self._waiting:
                self._write()

    def _write(self):
        # ``stream`` is unbuffered (``main``): a message is one write(2),
        # with no copy into a buffer and no flush; a blocking pipe takes
        # part of it only when a signal cuts in.
        data = frame(self._waiting)
        self._waiting = []
        written = self.stream.write(data)
        while written < len(data):
            data = data[written:]
            written = self.stream.write(data)


class ProgressOutbox:
    """The running job's progress reports, sent by ``run`` (a thread of
    its own) at most once per ``interval``, the latest replacing those
    that wait: a report costs the task an assignment, never a write. The
    one still waiting when the job ends is handed back by ``end`` to go
    with the end message. Nothing about a job is sent after ``end``
    returns, so its reports never follow its end."""

    def __init__(self, replies, interval):
        self.replies = replies
        self.interval = interval
        self.lock = threading.Condition()
        #: The running job's Throttle, once the sender has seen a report.
        self.current = None
        #: The running job: (jobid, its Latest, when it began), or None.
        self._running = None

    def begin(self, jobid):
        """The reporter of the job that starts now: a ``Latest`` of its
        own (``reportProgress`` stores into it without a call), which
        the sender looks at. Its Throttle is made by the sender, once it
        sees a report: most jobs make none, or end before it looks, and
        one made per job cost a worker more than a tenth of a no-op job
        (issue 18)."""
        box = progress.Latest()
        self._running = (jobid, box, time.monotonic())
        return box

    def _throttle(self):
        """The running job's Throttle, made if it has reported; None if
        no job runs or it has not reported. Call with ``lock`` held."""
        running = self._running
        if running is None:
            return None
        jobid, box, began = running
        if self.current is None or self.current.box is not box:
            if box.latest is None:
                return None

            def send(report):
                self.replies.send(dict(report, progress=jobid))
            self.current = progress.Throttle(
                send, self.interval, lock=self.lock, eager=False,
                started=began, box=box)
        return self.current

    def end(self):
        """The job ended: its waiting report (or None), sent no more."""
        with self.lock:
            running, self._running = self._running, None
            current, self.current = self.current, None
            if running is None:
                return None
            if current is not None and current.box is running[1]:
                return current.take()
            latest = running[1].latest
            return None if latest is None else progress.value(*latest)

    def run(self):
        """Send each waiting report when it is due; look again every
        interval. Neither a report nor a job's start wakes this thread: a
        worker running many short jobs must not switch threads for each."""
        with self.lock:
            while True:
                current = self._throttle()
                due = None if current is None else current.due()
                if due == 0.0:
                    current.sendDue()
                else:
                    self.lock.wait(self.interval if due is None else due)


def runJobs(registry, requests, replies, outbox):
    """The main thread: run each job taken from ``requests``
    (``workerinput.Requests``), say when it starts and how it ended (with
    its last progress report); what waits goes once the server hangs
    up."""
    while (job := requests.take()) is not None:
        jobid, task, input = job
        replies.started(jobid)
        requests.begin()
        began = time.perf_counter()
        outcome = run(registry, jobid, task, input, outbox.begin(jobid))
        requests.end()
        header, body = endMessage(jobid, outcome, outbox.end())
        header['took'] = time.perf_counter() - began
        replies.add(header, body)
    try:
        replies.flush()
    except OSError:
        pass  # nobody reads: the server is gone


def run(registry, jobid, task, input, reporter=None):
    try:
        found = registry.lookup(task)
    except NoSuchTask as error:
        return Outcome.failed(str(error))
    return runTask(found, None, jobid, codec.decode(input), checkWireValue,
                   progress=reporter)


def endMessage(jobid, outcome, report=None):
    if outcome.ok:
        header = {'ended': jobid, 'ok': True}
    else:
        header = {'ended': jobid, 'ok': False, 'error': outcome.error,
                  'traceback': outcome.traceback, 'retry': outcome.retry}
    if report is not None:
        header['progress'] = report
    return header, outcome.output if outcome.ok else None


def main(argv):
    # Our own process group: a Ctrl-C meant for the server does not kill
    # jobs behind its back, and the pool can stop a task's children too.
    os.setpgrp()
    # The protocol owns the real stdout; a task's print() goes to stderr,
    # which the server logs.
    replies = Replies(os.fdopen(os.dup(1), 'wb', buffering=0))
    os.dup2(2, 1)
    sys.stdout = sys.stderr
    config = json.loads(argv[1])
    lifetime.dieWithParent(config['parent'])
    lifetime.ownSignals()
    threading.Thread(target=lifetime.watchParent, args=(config['parent'],),
                     daemon=True).start()
    requests = Requests(sys.stdin.fileno(), replies,
                        config.get('watchInterval', INTERVAL))
    threading.Thread(target=requests.watch, daemon=True).start()
    outbox = ProgressOutbox(replies, config.get('progressInterval', 0.5))
    threading.Thread(target=outbox.run, daemon=True).start()
    runJobs(TaskRegistry.fromConfig(config['registry']), requests, replies,
            outbox)


if __name__ == '__main__':
    main(sys.argv)
