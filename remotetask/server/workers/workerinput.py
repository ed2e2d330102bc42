"""The worker process's stdin: the jobs and recalls the server sends.

Jobs are read by the main thread itself, whenever it has none to start:
a job that arrives at an idle worker crosses no thread (a hand-off per
job, a wake-up and a notify on either side, used to cost the worker more
CPU than reading the job did). Before it starts a job that waits in its
inbox, the main thread takes in what has already arrived without
blocking, so that a recall sent before that job starts keeps it from
starting.

While a job runs the main thread cannot read, and a recall must be
answered then (the server recalls the jobs queued behind one that runs
long, and a cancelled job that waits). So a watcher thread looks every
``interval`` whether the same job is still running; once one has run
that long it takes over reading until that job ends, filing jobs and
answering recalls, then hands the role back. It looks on a timer, never
woken per job: a worker running short jobs switches no threads. A
recall that waits behind a running job is answered at most about
``2 * interval`` after that job started, or at once once it has run that
long (the default interval is half the pool's default ``recallAfter``).
The watcher dozes once no job has run for ``DOZE_AFTER`` seconds, and
the next job's start rouses it: an idle worker is not woken on a timer.

Exactly one thread reads at a time: the one holding ``role``. The main
thread holds it except while a job runs; the watcher asks for it only
then, and gives it back at once when the job ends (a byte on a pipe of
its own wakes it, written only after jobs it read during).
"""

import collections
import os
import select
import threading
import time

from remotetask.server.workers.workerprotocol import MAX_FRAME, MessageReceiver

#: How often the watcher looks at the running job (seconds).
INTERVAL = 0.05
#: The watcher dozes once no job has run for this long (seconds).
DOZE_AFTER = 1.0


class Inbox:
    """Jobs sent to this worker and not started, in order. Filled by the
    thread that reads, emptied by the main thread (and by recalls)."""

    def __init__(self):
        self._jobs = collections.OrderedDict()
        self._lock = threading.Lock()

    def __len__(self):
        return len(self._jobs)

    def put(self, jobid, task, input):
        with self._lock:
            self._jobs[jobid] = (task, input)

    def recall(self, jobid):
        """Remove ``jobid`` if it is still waiting; whether it was."""
        with self._lock:
            return self._jobs.pop(jobid, None) is not None

    def take(self):
        """The first job waiting, ``(jobid, task, input)``, or None."""
        with self._lock:
            if not self._jobs:
                return None
            jobid, (task, input) = self._jobs.popitem(last=False)
            return jobid, task, input


class Requests(MessageReceiver):
    """The server's side of stdin (a raw file descriptor: ``select.poll``
    tells what has arrived, which a buffered file would hide); see the
    module docstring. The main thread calls ``take``, ``begin`` and
    ``end``; ``watch`` is the watcher thread's loop."""

    MAX_LENGTH = MAX_FRAME
    CHUNK = 65536

    def __init__(self, fd, replies, interval=INTERVAL, dozeAfter=DOZE_AFTER):
        self.fd = fd
        self.replies = replies
        self.interval = interval
        self.dozeAfter = dozeAfter
        self.inbox = Inbox()
        #: The server hung up (stdin's end).
        self.closed = False
        self.role = threading.Lock()
        self.role.acquire()
        os.set_blocking(fd, True)
        self._arrived = select.poll()
        self._arrived.register(fd, select.POLLIN)
        # The watcher's side: the job running (its serial number, None
        # between jobs), the last one started, and whether it reads.
        self._running = None
        self._started = 0
        self._reading = False
        #: The watcher waits for a job to start, not looking.
        self.dozing = False
        self._rouse = threading.Event()
        self._wakeRead, self._wakeWrite = os.pipe2(os.O_NONBLOCK
                                                   | os.O_CLOEXEC)
        self._watched = select.poll()
        self._watched.register(fd, select.POLLIN)
        self._watched.register(self._wakeRead, select.POLLIN)

    def messagesReceived(self, messages):
        for header, body in messages:
            if 'run' in header:
                self.inbox.put(header['run'], header['task'], body)
            elif 'recall' in header and self.inbox.recall(header['recall']):
                self.replies.send({'recalled': header['recall']})

    def _read(self):
        """One read (blocking until some bytes come): file what they
        complete, or note the end. Whether it took all there was (a pipe
        gives fewer bytes than asked only when it has no more)."""
        data = os.read(self.fd, self.CHUNK)
        if data:
            self.dataReceived(data)
        else:
            self.closed = True
        return len(data) < self.CHUNK

    # The main thread

    def take(self):
        """The next job to start, ``(jobid, task, input)``; None once the
        server has hung up (jobs still waiting are not run: they are the
        server's to give back). Replies waiting go before this blocks.
        What has arrived is read before a job starts (unless this has just
        read all there was): a recall there is honoured."""
        drained = False
        while not self.closed:
            if self.inbox:
                while not (drained or self.closed) and self._arrived.poll(0):
                    drained = self._read()
                job = None if self.closed else self.inbox.take()
                if job is not None:
                    return job
            else:
                self.replies.flush()
                drained = self._read()
        return None

    def begin(self):
        """A job starts: the watcher may read while it runs."""
        self._started += 1
        self._running = self._started
        self.role.release()
        if self.dozing:
            self._rouse.set()

    def end(self):
        """The job ended: the role is the main thread's again (once the
        watcher, if it reads, has finished with what it read)."""
        self._running = None
        if self._reading:
            try:
                os.write(self._wakeWrite, b'.')
            except BlockingIOError:
                pass  # the pipe is full of wake-ups already
        self.role.acquire()

    # The watcher thread

    def watch(self):
        """Look at the running job every interval; read while one runs
        from one look to the next; doze while none runs for a while."""
        seen, started, idle = None, self._started, 0.0
        while True:
            time.sleep(self.interval)
            running = self._running
            if running is not None and running == seen:
                self._readWhile(running)
                seen = None
            else:
                seen = running
            if running is not None or self._started != started:
                started, idle = self._started, 0.0
            else:
                idle += self.interval
                if idle >= self.dozeAfter:
                    self._doze(started)
                    started, idle = self._started, 0.0

    def _doze(self, started):
        """Wait until a job starts after the ``started``-th. (``begin``
        sets the event if it sees ``dozing``; if it did not, this sees
        that job's start.)"""
        self.dozing = True
        while self._running is None and self._started == started:
            self._rouse.wait()
            self._rouse.clear()
        self.dozing = False

    def _readWhile(self, job):
        """Read until ``job`` ends (or the server hangs up)."""
        if not self.role.acquire(blocking=False):
            return  # the job has just ended: the main thread reads
        self._reading = True
        try:
            while self._running == job and not self.closed:
                for fd, _ in self._watched.poll():
                    if fd == self.fd:
                        self._read()
                    else:
                        self._drainWakeUps()
        finally:
            self._reading = False
            self.role.release()

    def _drainWakeUps(self):
        try:
            while os.read(self._wakeRead, 512):
                pass
        except BlockingIOError:
            pass
