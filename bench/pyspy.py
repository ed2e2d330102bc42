"""py-spy attached to remotetask's daemons while a phase of bench/profile runs.

py-spy (installed in bench/.venv by bench/requirements.txt, never a
dependency of the package) samples a running daemon from outside, so the
daemon needs no change; `--subprocesses` takes its worker processes too.
Each daemon gets one `py-spy record`, writing a speedscope file.
"""

import contextlib
import signal
import subprocess
import time

from adapter import BenchError, venvScript

# How long py-spy may take to attach, and to write its file after SIGINT.
attachSeconds = 20
writeSeconds = 120


class AttachFailed(BenchError):
    """py-spy could not attach to the daemon; the message has its words."""


class PySpy:
    """One `py-spy record` attached to one daemon (and its workers)."""

    def __init__(self, arguments, daemon, path):
        self.daemon, self.path = daemon, path
        self.logPath = path.with_suffix('.log')
        self.log = open(self.logPath, 'wb')
        argv = [venvScript('py-spy'), 'record', '--pid', str(daemon.pid),
                '--subprocesses', '--function', '--format', 'speedscope',
                '--rate', str(arguments.rate), '-o', str(path)]
        argv += [flag for flag, on in [
            ('--nonblocking', not arguments.blocking),
            ('--idle', arguments.idle), ('--gil', arguments.gil),
            ('--native', arguments.native)] if on]
        self.process = subprocess.Popen(
            argv, stdin=subprocess.DEVNULL, stdout=self.log,
            stderr=subprocess.STDOUT)

    def text(self):
        if not self.log.closed:
            self.log.flush()
        return self.logPath.read_text(errors='replace')

    def waitAttached(self):
        deadline = time.monotonic() + attachSeconds
        while 'Sampling process' not in self.text():
            if self.process.poll() is not None or \
                    time.monotonic() > deadline:
                self.stop()
                raise AttachFailed(f'py-spy could not attach to '
                                   f'{self.daemon.label} (pid '
                                   f'{self.daemon.pid}):\n{self.text()}')
            time.sleep(0.05)

    def stop(self):
        """SIGINT: py-spy writes its file, then exits."""
        if self.process.poll() is None:
            self.process.send_signal(signal.SIGINT)
            try:
                self.process.wait(writeSeconds)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()
        self.log.close()


@contextlib.contextmanager
def pySpies(arguments, adapter, phase):
    """py-spy on every daemon of the adapter while the block runs."""
    spies = []
    try:
        for daemon in adapter.workers:
            spies.append(PySpy(arguments, daemon, arguments.out / (
                f'{phase}-{daemon.label}.speedscope.json')))
        for spy in spies:
            spy.waitAttached()
        yield
    finally:
        for spy in spies:
            spy.stop()
