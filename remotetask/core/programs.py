"""Running a command task's program, its output read up to a bound.

``cat {file}`` given ``/dev/zero`` writes without end: read whole, its
output would grow the worker until the timeout, or until memory runs
out. So what a program writes (stdout and stderr together) is read as it
comes, up to ``maxOutput`` bytes; past that the program is stopped and
the job fails, saying so. The program runs in a process group of its
own, tied to its worker (``remotetask.core.lifetime``): its timeout or
too much output kills the whole group, and so does its worker's end.
"""

import locale
import os
import selectors
import subprocess
import time

from remotetask.core import lifetime
from remotetask.core.task import TaskError

#: The default of a command task's ``max_output``: as much as an answer
#: carries by default (``--max-answer-size``), so the result can be read.
MAX_OUTPUT = 16 * 1024 * 1024
#: How much is read at a time from a program's pipes.
READ_SIZE = 65536
_UNITS = {'K': 1024, 'M': 1024 ** 2, 'G': 1024 ** 3}


def parseSize(text):
    """Bytes, with an optional K, M or G suffix (``10M``); ValueError if
    it is not a positive size."""
    text = text.strip().upper().removesuffix('B')
    factor = _UNITS.get(text[-1:], 1)
    value = int(float(text[:-1] if text[-1:] in _UNITS else text) * factor)
    if value <= 0:
        raise ValueError(f'{text!r} is not a positive size (e.g. 10M)')
    return value


class Finished:
    """How a program ended: ``returncode``, and its ``stdout`` and
    ``stderr`` as text, decoded as ``subprocess.run(text=True)`` would."""

    def __init__(self, returncode, stdout, stderr):
        self.returncode = returncode
        self.stdout = _text(stdout)
        self.stderr = _text(stderr)


def _text(data):
    text = data.decode(locale.getpreferredencoding(False), 'replace')
    return text.replace('\r\n', '\n').replace('\r', '\n')


def runProgram(argv, timeout=None, maxOutput=MAX_OUTPUT):
    """Run ``argv`` (stdin empty); its ``Finished``. ``TaskError`` if the
    program is not found, outlasts ``timeout`` seconds or writes more
    than ``maxOutput`` bytes (it is killed then, with its group)."""
    keeper = lifetime.Keeper()
    try:
        process = subprocess.Popen(
            argv, stdin=subprocess.DEVNULL, stdout=subprocess.PIPE,
            stderr=subprocess.PIPE, **lifetime.programOptions())
    except FileNotFoundError:
        keeper.release()
        raise TaskError(f'The program {argv[0]!r} was not found.') from None
    except BaseException:
        keeper.release()
        raise
    keeper.watch(process.pid)
    deadline = None if timeout is None else time.monotonic() + timeout
    try:
        outputs = _read(process, deadline, maxOutput)
        if not isinstance(outputs, TaskError):
            try:
                return Finished(process.wait(_left(deadline)), *outputs)
            except subprocess.TimeoutExpired:
                outputs = None
        # Killed while its leader is not yet reaped: the group's id
        # cannot have gone to another process.
        lifetime.killGroup(process.pid)
        process.wait()
    finally:
        keeper.release()
        process.stdout.close()
        process.stderr.close()
    raise outputs or TaskError(f'{argv[0]} timed out after {timeout} s.')


def _left(deadline):
    return None if deadline is None else max(0.0, deadline - time.monotonic())


def _read(process, deadline, maxOutput):
    """``(stdout, stderr)`` bytes once both pipes end; None if the
    deadline passes first, the ``TaskError`` to raise if more than
    ``maxOutput`` bytes come first."""
    chunks = {process.stdout.fileno(): [], process.stderr.fileno(): []}
    total = 0
    with selectors.DefaultSelector() as selector:
        for fd in chunks:
            selector.register(fd, selectors.EVENT_READ)
        while selector.get_map():
            left = _left(deadline)
            if left == 0.0:
                return None
            for key, _ in selector.select(left):
                data = os.read(key.fd, READ_SIZE)
                if not data:
                    selector.unregister(key.fd)
                    continue
                total += len(data)
                if total > maxOutput:
                    return TaskError(
                        f'{process.args[0]} wrote more than {maxOutput} '
                        'bytes of output, so it was stopped (max_output in '
                        'the command file).')
                chunks[key.fd].append(data)
    return tuple(b''.join(chunks[pipe.fileno()])
                 for pipe in (process.stdout, process.stderr))
