"""No process of a server outlives it: a worker dies with its server, a
command task's program with its worker.

Were a worker to outlive a server killed with ``kill -9`` (or by the OOM
killer), it would finish the job it held while the restarted server runs
that job again: one job, two runs, at once. So each worker asks the
kernel for SIGKILL the moment its server ends (``PR_SET_PDEATHSIG``, on
Linux), and checks that it did not end already, before that request was
made. A command task's program runs in a process group of its own,
killed whole when it overruns, and when its worker ends (``Keeper``: a
shell's children too, which no parent-death signal would reach).

Signals are the server's to handle (``ownSignals``): systemd's default
stop (``KillMode=control-group``) sends SIGTERM to every process of the
service at once. A worker that died of it would count an attempt against
the job it ran; it ignores it instead, as do the programs it starts (an
ignored signal stays ignored across ``exec``), and the server, which got
the same signal, lets running jobs finish within its grace period and
then kills what still runs.

Elsewhere than on Linux a worker learns of its server's end from the end
of its pipe, or from its parent changing (``watchParent``), within
``WATCH_INTERVAL``.
"""

import ctypes
import ctypes.util
import os
import signal
import sys
import time

#: ``prctl``'s option that sets the signal sent at the parent's death.
PR_SET_PDEATHSIG = 1
#: The exit status of a worker whose server is gone.
ORPHANED = 70
#: How often ``watchParent`` looks (seconds).
WATCH_INTERVAL = 0.2
#: Files above this are closed by a keeper (``keepGroup``).
MAX_FD = 65536
#: The signals a worker and its programs leave to the server.
SERVER_SIGNALS = (signal.SIGTERM, signal.SIGINT)


def _prctl():
    """libc's ``prctl``, looked up once (a forked child must not load a
    library), or None where there is none."""
    if not sys.platform.startswith('linux'):
        return None
    try:
        libc = ctypes.CDLL(ctypes.util.find_library('c'), use_errno=True)
        prctl = libc.prctl
    except (OSError, AttributeError):
        return None
    prctl.argtypes = [ctypes.c_int, ctypes.c_ulong, ctypes.c_ulong,
                      ctypes.c_ulong, ctypes.c_ulong]
    prctl.restype = ctypes.c_int
    return prctl


_PRCTL = _prctl()


def askKillWithParent():
    """Ask for SIGKILL when the parent ends; whether the system can.

    Safe between fork and exec (``preexec_fn``): it calls one function
    already looked up, and allocates nothing."""
    if _PRCTL is None:
        return False
    return _PRCTL(PR_SET_PDEATHSIG, signal.SIGKILL, 0, 0, 0) == 0


def dieWithParent(parent):
    """For a worker: end when the server ``parent`` (a pid) ends, even by
    SIGKILL. Ends at once if it is gone already."""
    askKillWithParent()
    if os.getppid() != parent:
        os._exit(ORPHANED)


def ownSignals():
    """Leave SIGTERM and SIGINT to the server (see the module's
    docstring); programs started from here inherit this."""
    for number in SERVER_SIGNALS:
        signal.signal(number, signal.SIG_IGN)


def watchParent(parent, interval=WATCH_INTERVAL):
    """A thread's loop: exit once the server ``parent`` is gone, where
    the kernel does not say so itself."""
    while os.getppid() == parent:
        time.sleep(interval)
    os._exit(ORPHANED)


def killGroup(pid):
    """Kill the process group ``pid`` leads, and whatever is left in it."""
    try:
        os.killpg(pid, signal.SIGKILL)
    except (ProcessLookupError, PermissionError):
        pass


class Keeper:
    """Kills a program's process group if this process ends (however:
    SIGKILL included) before ``release``.

    The keeper is a child forked before the program starts, blocked
    reading a pipe whose only writer is this process: it reads the
    group's id (``watch``), then the end of the pipe without a byte
    first means that this process is gone. It closes every other file
    (another keeper's pipe included) and runs in a group of its own, so
    that what kills its worker's group does not kill it. (Between the
    program's start and ``watch`` the program's own parent-death signal
    covers it.)"""

    def __init__(self):
        reading, self.writing = os.pipe()
        self.pid = os.fork()
        if self.pid == 0:
            try:
                _keep(reading)
            finally:
                os._exit(0)
        os.close(reading)

    def watch(self, group):
        os.write(self.writing, b'%d\n' % group)

    def release(self):
        os.write(self.writing, b'.')
        os.close(self.writing)
        os.waitpid(self.pid, 0)


def _keep(reading):
    # No handler of the parent's may run here (a server's would stop a
    # reactor this copy does not run).
    for number in SERVER_SIGNALS + (signal.SIGHUP,):
        signal.signal(number, signal.SIG_IGN)
    os.setpgid(0, 0)
    os.closerange(0, reading)
    os.closerange(reading + 1, MAX_FD)
    told = b''
    while not told.endswith(b'\n'):
        data = os.read(reading, 32)
        if not data:
            return  # gone before the program started
        told += data
    group, _, rest = told.partition(b'\n')
    if rest or os.read(reading, 1):
        return  # released
    killGroup(int(group))


def programOptions():
    """The ``subprocess.Popen`` keywords of a command task's program: a
    process group of its own (a ``Keeper`` kills it with its worker), and
    SIGKILL when its worker ends (Linux)."""
    options = dict(process_group=0)
    if _PRCTL is not None:
        parent = os.getpid()

        def killWithParent():
            askKillWithParent()
            if os.getppid() != parent:
                os._exit(ORPHANED)
        options['preexec_fn'] = killWithParent
    return options
