"""The tasks the tests run, each small and with one purpose."""

import json
import os
import threading
import time

from zope.interface import implementer

from remotetask import TaskError, reportProgress
from remotetask.interfaces import ITask


def echo(input):
    """Return the input unchanged."""
    return input


def fail(input):
    """Fail the way a task is meant to: with a TaskError and a message."""
    raise TaskError('An error occurred.')


def crash(input):
    """Fail the way a bug does: with an unexpected exception."""
    raise ValueError(f'cannot handle {input!r}')


def unstorable(input):
    """Return a result no store can keep faithfully (a set)."""
    return {1, 2}


def sleep(input):
    """Sleep ``input`` seconds, then return them."""
    time.sleep(input)
    return input


def pid(input):
    """Return the id of the process the task runs in."""
    return os.getpid()


def record(input):
    """Append ``input['line']`` to the file ``input['path']``; return it.

    Tests use the file to count how many times a job really ran.
    """
    with open(input['path'], 'a') as log:
        log.write(f"{input['line']}\n")
    return input['line']


def recordThenSleep(input):
    """Append ``input['line']`` to the file ``input['path']``, then sleep
    ``input['sleep']`` seconds: a long job whose every start the file
    counts."""
    record(input)
    time.sleep(input['sleep'])
    return input['line']


def slow(input):
    """Sleep far longer than its timeout allows (one second)."""
    time.sleep(60)


slow.timeout = 1


def die(input):
    """Kill the worker process running it, as a segfault would."""
    os.kill(os.getpid(), 9)


def big(input):
    """Return an int over 32 bits, which XML-RPC cannot carry."""
    return 2 ** 40


def recordRow(input):
    """After ``input['sleep']`` seconds, insert ``input['key']`` into the
    table ``runs`` of the PostgreSQL database ``input['dsn']``.

    Tests count the rows to prove that a job ran exactly once, whichever
    server ran it.
    """
    import psycopg
    time.sleep(input.get('sleep', 0))
    with psycopg.connect(input['dsn']) as connection:
        connection.execute('INSERT INTO runs (key) VALUES (%s)',
                           (input['key'],))
    return input['key']


def recordSpan(input):
    """Sleep ``input['sleep']`` seconds, then insert ``input['key']`` with
    the times this run began and ended (epoch seconds, this machine's
    clock) into the table ``spans`` of the PostgreSQL database
    ``input['dsn']``.

    Tests compare the spans to prove that runs did not overlap, whichever
    servers ran them.
    """
    import psycopg
    began = time.time()
    time.sleep(input.get('sleep', 0))
    ended = time.time()
    with psycopg.connect(input['dsn']) as connection:
        connection.execute(
            'INSERT INTO spans (key, began, ended) VALUES (%s, %s, %s)',
            (input['key'], began, ended))
    return input['key']


def gate(input):
    """Wait until the file ``input['path']`` exists (at most a minute),
    holding a worker until the test lets it go; return the input."""
    deadline = time.monotonic() + 60
    while not os.path.exists(input['path']):
        if time.monotonic() > deadline:
            raise TaskError(f"{input['path']} never appeared")
        time.sleep(0.02)
    return input


die.maxAttempts = 2
die.backoff = 0.1


def progressing(input):
    """Report half-way ("half"), wait (60 s at most) until the file
    ``input['release']`` exists, report "done", and return "released"."""
    reportProgress(0.5, 'half')
    deadline = time.monotonic() + 60
    while not os.path.exists(input['release']):
        if time.monotonic() > deadline:
            raise TaskError('never released')
        time.sleep(0.02)
    reportProgress(1.0, 'done')
    return 'released'


def failsOnce(input):
    """Fail with a retryable TaskError while the file ``input['marker']``
    does not exist (making it), succeed once it does: one retry."""
    if not os.path.exists(input['marker']):
        open(input['marker'], 'w').close()
        raise TaskError('the first attempt fails', retry=True)
    return 'second time lucky'


failsOnce.backoff = 0.1


class Flaky:
    """Fail with a retryable TaskError until the given attempt."""

    def __init__(self, succeedOn):
        self.succeedOn = succeedOn
        self.calls = 0

    def __call__(self, input):
        self.calls += 1
        if self.calls < self.succeedOn:
            raise TaskError(f'attempt {self.calls} failed', retry=True)
        return self.calls


def pair(input):
    """Return the input's two items as a tuple, in reverse order."""
    first, second = input
    return (second, first)


class Gates:
    """Hold each job at a gate until the test opens it.

    The input names the gate. ``inside`` lists the gates whose jobs are
    running now and ``most`` the largest number that ever ran at once, so
    that a test can see how many jobs a processor runs together without
    timing anything.
    """

    def __init__(self):
        self._lock = threading.Lock()
        self._gates = {}
        self.inside = []
        self.most = 0

    def _gate(self, name):
        with self._lock:
            return self._gates.setdefault(name, threading.Event())

    def open(self, *names):
        for name in names:
            self._gate(name).set()

    def __call__(self, input):
        gate = self._gate(input)
        with self._lock:
            self.inside.append(input)
            self.most = max(self.most, len(self.inside))
        try:
            if not gate.wait(60):
                raise TaskError(f'gate {input!r} was never opened')
        finally:
            with self._lock:
                self.inside.remove(input)
        return input


def meeting(parties):
    """A task whose jobs all wait until ``parties`` of them run at once
    (a barrier); a job waiting 60 s for the others fails."""
    barrier = threading.Barrier(parties, timeout=60)

    def meet(input):
        """Wait for the other jobs of the meeting, then return the input."""
        barrier.wait()
        return input
    return meet


def nan(input):
    """Return NaN, which XML-RPC cannot carry."""
    return float('nan')


@implementer(ITask)
class PollsCancel:
    """Run until the job is cancelled, as a thread-pool task is told to
    (``service.isCancelled``), at most a minute; return how it ended."""

    def __call__(self, service, jobid, input):
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:
            if service.isCancelled(jobid):
                return 'cancelled'
            time.sleep(0.02)
        return 'not cancelled'


pollsCancel = PollsCancel()


def sized(input):
    """Return a string of ``input`` characters: a result as large as a
    test needs, from an input of a few bytes."""
    return 'x' * input


def rows(input):
    """Return ``input`` rows, ``{'id', 'name'}`` structs: a result of
    many small values, slow to write as XML-RPC."""
    return [{'id': i, 'name': f'row {i}'} for i in range(input)]


def _around(input, line):
    """Append ``line('begin')`` to the file ``input['path']``, sleep
    ``input['s']`` seconds, then append ``line('end')``; return
    ``input['n']``."""
    with open(input['path'], 'a') as log:
        log.write(line('begin') + '\n')
    time.sleep(float(input['s']))
    with open(input['path'], 'a') as log:
        log.write(line('end') + '\n')
    return input['n']


def spanned(input):
    """Append ``begin N`` to the file ``input['path']``, sleep
    ``input['s']`` seconds, then append ``end N``: a run cut short leaves
    a begin without an end, and two whole runs two ends."""
    return _around(input, lambda what: f"{what} {input['n']}")


def stamped(input):
    """As ``spanned``, the lines ``begin N RUN T`` and ``end N RUN T``
    (RUN this process's id, T the epoch time, read as the line is
    written): each run's span, its two ends paired by RUN, so that runs
    can be compared in time and one cut short shows as a begin alone."""
    run = os.getpid()
    return _around(input,
                   lambda what: f"{what} {input['n']} {run} {time.time()}")


def recordResults(input):
    """A fan-in, given pass: record the ids of the results it received
    (``input['results']``), sorted, once per run, as a JSON line appended
    to the file ``input['input']['path']``, or as a row of the table
    ``runs`` of the PostgreSQL database ``input['input']['dsn']`` keyed
    ``input['input']['key']``. Return how many results it had.

    Tests count the lines or rows to prove that a fan-in ran exactly once,
    with every result."""
    own, results = input['input'], input['results']
    if 'dsn' in own:
        import psycopg
        with psycopg.connect(own['dsn']) as connection:
            connection.execute('INSERT INTO runs (key) VALUES (%s)',
                               (f"{own['key']}:{len(results)}",))
    else:
        with open(own['path'], 'a') as log:
            log.write(json.dumps(sorted(results, key=int)) + '\n')
    return len(results)
