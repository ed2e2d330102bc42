"""A command task's program: its output bounded, its group killed with it.
"""

import os
import signal
import subprocess
import sys
import time

import pytest

from remotetask.core import lifetime
from remotetask.core.commandtask import CommandTask, loadCommands
from remotetask.core.programs import parseSize, runProgram
from remotetask.core.task import TaskError


def alive(pid):
    """Whether ``pid`` runs (a zombie counts as ended)."""
    try:
        with open(f'/proc/{pid}/stat') as file:
            return file.read().rsplit(')', 1)[1].split()[0] != 'Z'
    except FileNotFoundError:
        return False


def waitGone(pid, timeout=10):
    deadline = time.monotonic() + timeout
    while alive(pid):
        assert time.monotonic() < deadline, f'{pid} still runs'
        time.sleep(0.02)


def test_output_past_the_bound_stops_the_program_and_fails_the_job():
    """``cat /dev/zero`` is stopped once it has written ``max_output``
    bytes, the job failing with a message naming the bound; output within
    the bound is returned whole."""
    task = CommandTask(['cat', '{file}'], maxOutput=100000)
    with pytest.raises(TaskError, match=r'cat wrote more than 100000 '
                       r'bytes of output, so it was stopped \(max_output'):
        task(None, 1, {'file': '/dev/zero'})
    done = CommandTask(['head', '-c', '100000', '/dev/zero'],
                       maxOutput=100000)(None, 2, None)
    assert done['stdout'] == '\0' * 100000


def test_stderr_counts_towards_the_bound_and_is_kept():
    """What a program writes to stderr counts as output too; within the
    bound both streams come back as text, line ends as ``text=True``
    made them."""
    script = 'import sys; sys.stdout.write("a\\r\\nb"); sys.stderr.write("e")'
    done = runProgram([sys.executable, '-c', script], maxOutput=5)
    assert (done.returncode, done.stdout, done.stderr) == (0, 'a\nb', 'e')
    with pytest.raises(TaskError, match="more than 4 bytes"):
        runProgram([sys.executable, '-c', script], maxOutput=4)


def test_a_timeout_kills_the_programs_whole_group(tmp_path):
    """A program over its timeout is killed with what it started (its
    process group): a shell's background child does not live on."""
    pidfile = tmp_path / 'child'
    script = f'sleep 300 & echo $! > {pidfile}; wait'
    with pytest.raises(TaskError, match='timed out after 1 s'):
        runProgram(['sh', '-c', script], timeout=1)
    waitGone(int(pidfile.read_text()))


def test_a_program_dies_with_the_process_that_started_it(tmp_path):
    """The process running a program killed with SIGKILL (as the OOM
    killer does): the program's group is killed too, a shell's child
    included."""
    pidfile = tmp_path / 'program'
    runner = ('from remotetask.core.programs import runProgram\n'
              f'runProgram(["sh", "-c", "sleep 300 & echo $! > {pidfile}; '
              'wait"])')
    parent = subprocess.Popen([sys.executable, '-c', runner])
    try:
        deadline = time.monotonic() + 30
        while not pidfile.exists() or not pidfile.read_text().strip():
            assert time.monotonic() < deadline, 'the program never started'
            time.sleep(0.02)
        program = int(pidfile.read_text())
        assert alive(program)
        parent.kill()
        parent.wait(30)
        waitGone(program)
    finally:
        parent.kill()
        parent.wait(30)


def test_ignored_signals_are_the_servers():
    """After ``ownSignals`` a worker, and the programs it starts, ignore
    SIGTERM (systemd sends it to every process of the service), which the
    server handles for them."""
    script = ('import signal, subprocess, sys\n'
              'from remotetask.core import lifetime\n'
              'lifetime.ownSignals()\n'
              'import os; os.kill(os.getpid(), signal.SIGTERM)\n'
              'sys.exit(subprocess.run(["sh", "-c", "kill -TERM $$; exit 7"])'
              '.returncode)')
    done = subprocess.run([sys.executable, '-c', script], timeout=30)
    assert done.returncode == 7
    assert signal.SIGTERM in lifetime.SERVER_SIGNALS


def test_max_output_in_a_command_file(tmp_path):
    """``max_output`` sets a task's bound, with K, M or G; the default is
    16 MB; a size that is not one names the file and section."""
    commands = tmp_path / 'commands.ini'
    commands.write_text('[small]\nargv = cat {file}\nmax_output = 2K\n\n'
                        '[plain]\nargv = cat {file}\n')
    tasks = loadCommands(str(commands))
    assert tasks['small'].maxOutput == 2048
    assert tasks['plain'].maxOutput == 16 * 1024 * 1024
    assert parseSize('1.5M') == 1572864
    commands.write_text('[bad]\nargv = cat {file}\nmax_output = -1\n')
    with pytest.raises(ValueError, match=r'\[bad\]: .*positive size'):
        loadCommands(str(commands))
    os.remove(commands)
