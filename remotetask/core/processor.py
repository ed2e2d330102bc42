"""Processing jobs in threads of the host's own process, without a reactor.

``TaskService.startProcessing()`` makes a processor with
``service.processorFactory(service, **service.processorArguments)`` and
calls it in a daemon thread; ``stopProcessing()`` calls its ``stop()`` and
waits for the thread. This is how lovely.remotetask and z3c.taskqueue ran
jobs inside a Zope process, and a host that chose a processor there
chooses it here the same way:

* ``SimpleProcessor`` (the default) runs one job at a time, in its own
  thread: for jobs that take long and use a whole CPU.
* ``MultiProcessor`` runs up to ``maxThreads`` jobs at once, each in a
  thread of its own: for jobs that mostly wait (on the network, a
  program, a disk).

Both look for due jobs again as soon as one ends, and otherwise every
``waitTime`` seconds, or at once when a job is added to the service. The
originals' processors were built with a ZODB connection and the path to
the service; these are built with the service itself.

The daemon does not use them: it runs jobs in its worker pools
(``remotetask.server``), driven by the reactor.
"""

import threading

from twisted.logger import Logger


class SimpleProcessor:
    """Run due jobs one at a time until ``stop()``.

    A failing round (the store unavailable, say) is logged and tried
    again after ``waitTime``; the thread never dies of it.
    """

    log = Logger()

    def __init__(self, service, waitTime=1.0):
        self.service = service
        self.waitTime = waitTime
        self._stopping = threading.Event()
        self._wake = threading.Event()
        self._claimed = {}

    @property
    def running(self):
        """Whether the loop goes on (False once ``stop()`` was called)."""
        return not self._stopping.is_set()

    def wake(self):
        """Look for due jobs now rather than after ``waitTime``."""
        self._wake.set()

    def stop(self):
        """Ask the loop to end; the job in hand is finished first."""
        self._stopping.set()
        self._wake.set()

    def processNext(self, jobid=None):
        """Run the next due job in this thread, or the job ``jobid`` that
        ``claimNextJob()`` handed out; return whether there was one."""
        if jobid is None:
            return self.service.processNext()
        self.service.running.runClaimed(self._claimed.pop(jobid))
        return True

    def _idle(self):
        self._wake.wait(self.waitTime)
        # Cleared before the next look for jobs, so that a job added
        # from here on wakes the wait after it.
        self._wake.clear()

    def __call__(self):
        while self.running:
            try:
                found = self.processNext()
            except Exception:
                self.log.failure('Processing jobs failed; trying again')
                found = False
            if not found:
                self._idle()


class MultiProcessor(SimpleProcessor):
    """Run up to ``maxThreads`` due jobs at once, each in its own thread,
    until ``stop()``; stopping waits for the jobs in hand to end.

    ``threads`` lists the threads of the jobs running; ``hasJobsWaiting()``
    and ``claimNextJob()`` are the steps of the loop, as in the original.
    """

    def __init__(self, service, maxThreads=5, waitTime=1.0):
        super().__init__(service, waitTime)
        if type(maxThreads) is not int or maxThreads < 1:
            raise ValueError(
                f'maxThreads must be a positive int, not {maxThreads!r}.')
        self.maxThreads = maxThreads
        self.threads = []

    def hasJobsWaiting(self):
        """Whether a job is due now."""
        return self.service.hasJobsWaiting()

    def claimNextJob(self):
        """Claim the next due job for this processor and return its id
        (None when none is due); run it with ``processNext(jobid)``."""
        row = self.service.running.claimNext()
        if row is None:
            return None
        self._claimed[row['id']] = row
        return row['id']

    def _runClaimed(self, jobid):
        try:
            self.processNext(jobid)
        except Exception:
            self.log.failure('Running job {id} failed', id=jobid)
        finally:
            self._wake.set()  # a thread is free

    def __call__(self):
        try:
            while self.running:
                self.threads = [thread for thread in self.threads
                                if thread.is_alive()]
                if len(self.threads) >= self.maxThreads:
                    self._idle()
                    continue
                try:
                    jobid = self.claimNextJob()
                except Exception:
                    self.log.failure('Claiming a job failed; trying again')
                    jobid = None
                if jobid is None:
                    self._idle()
                    continue
                thread = threading.Thread(
                    target=self._runClaimed, args=(jobid,), daemon=True,
                    name=f'{threading.current_thread().name}.job{jobid}')
                self.threads.append(thread)
                thread.start()
        finally:
            for thread in self.threads:
                thread.join()


class ProcessingThread:
    """The thread a service's processor runs in, for ``startProcessing()``,
    ``stopProcessing()`` and ``isProcessing()``; safe to use from any
    thread."""

    def __init__(self):
        self._lock = threading.Lock()
        self._processor = self._thread = None

    def start(self, makeProcessor, name):
        """Make a processor with ``makeProcessor()`` and run it in a new
        daemon thread called ``name``, unless one runs already."""
        with self._lock:
            if self.running:
                return
            self._processor = makeProcessor()
            self._thread = threading.Thread(target=self._processor,
                                            name=name, daemon=True)
            self._thread.start()

    def stop(self):
        """Stop the processor and wait until its thread has ended."""
        with self._lock:
            processor, thread = self._processor, self._thread
            self._processor = self._thread = None
        if processor is not None:
            processor.stop()
            thread.join()

    @property
    def running(self):
        thread = self._thread
        return thread is not None and thread.is_alive() and getattr(
            self._processor, 'running', True)

    def wake(self):
        """Have the processor look for due jobs now (a job was added)."""
        wake = getattr(self._processor, 'wake', None)
        if wake is not None:
            wake()
