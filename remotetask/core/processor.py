"""Driving ``process()`` once a second without Twisted.

``ThreadedProcessor`` is what ``TaskService.startProcessing()`` starts for
hosts that embed the service without a reactor (legacy Zope). The daemon
uses ``remotetask.server`` instead, driven by the reactor.
"""

import threading

from twisted.logger import Logger


class ThreadedProcessor:
    """Call ``service.process()`` every ``interval`` seconds in a daemon
    thread until ``stop()``; a failing round is logged, never fatal."""

    log = Logger()

    def __init__(self, service, interval=1.0):
        self.service = service
        self.interval = interval
        self._stopping = threading.Event()
        self._thread = None

    @property
    def running(self):
        return self._thread is not None and self._thread.is_alive()

    def start(self):
        self._stopping.clear()
        self._thread = threading.Thread(
            target=self._run, name='remotetask-processor', daemon=True)
        self._thread.start()

    def _run(self):
        while not self._stopping.is_set():
            try:
                self.service.process()
            except Exception:
                self.log.failure('Processing jobs failed; trying again')
            self._stopping.wait(self.interval)

    def stop(self, timeout=None):
        """Ask the thread to stop and wait until it has (the job in hand
        is finished first)."""
        self._stopping.set()
        if self._thread is not None:
            self._thread.join(timeout)
        self._thread = None
