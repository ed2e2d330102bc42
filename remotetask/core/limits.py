"""Concurrency and rate limits: how many jobs of a task may run at once,
and how many may start in a window of time.

A task sets them as options (``SimpleTask(func, concurrency=2,
rate='10/m')``, or attributes of those names on a function); a daemon
overrides them per task (``--limit TASK=N``, ``--rate TASK=N/s|m|h``).

The rules are here, once, as pure functions; every store applies them
inside its claim's transaction, after it has made sure that no other
claim can change what they are computed from (see ``IJobStore.claim``):
how many runs of the task hold a claim now (``running``), and the times
of its last starts (``starts``, at most ``rate.count`` of them, newest
last), which the store keeps per task.
"""

import collections
import re

from remotetask.errors import InvalidArgument

#: The windows a rate is counted over, by the letter that names them.
WINDOWS = {'s': 1.0, 'm': 60.0, 'h': 3600.0}
#: The largest count a rate or a concurrency limit may have: a rate keeps
#: that many start times per task.
MAX_COUNT = 100000

_RATE = re.compile(r'^\s*(\d+)\s*/\s*([smh])\s*$')


class Rate(collections.namedtuple('Rate', 'count seconds')):
    """At most ``count`` starts in any ``seconds`` (1, 60 or 3600)."""

    __slots__ = ()

    def __str__(self):
        letter = {seconds: name for name, seconds in WINDOWS.items()}
        return f'{self.count}/{letter.get(self.seconds, self.seconds)}'


class Limit(collections.namedtuple('Limit', 'concurrency rate')):
    """A task's limits: ``concurrency`` (an int, or None for none) and
    ``rate`` (a ``Rate``, or None)."""

    __slots__ = ()

    def __bool__(self):
        return self.concurrency is not None or self.rate is not None


NONE = Limit(None, None)


def parseRate(value):
    """``'10/s'``, ``'100/m'``, ``'5/h'`` (or a ``Rate``) as a ``Rate``;
    ``InvalidArgument`` for anything else."""
    if isinstance(value, Rate):
        rate = value
    else:
        found = _RATE.match(value) if isinstance(value, str) else None
        if found is None:
            raise InvalidArgument(
                f'A rate is N/s, N/m or N/h (at most N starts per second, '
                f'minute or hour), not {value!r:.40}.')
        rate = Rate(int(found.group(1)), WINDOWS[found.group(2)])
    if not 1 <= rate.count <= MAX_COUNT or rate.seconds not in \
            WINDOWS.values():
        raise InvalidArgument(
            f'A rate allows from 1 to {MAX_COUNT} starts per second, '
            f'minute or hour, not {rate}.')
    return rate


def checkConcurrency(value):
    """``value`` as a concurrency limit (an int from 1), or None."""
    if value is None:
        return None
    if type(value) is not int or not 1 <= value <= MAX_COUNT:
        raise InvalidArgument(
            f'A concurrency limit is a whole number from 1 to {MAX_COUNT}, '
            f'not {value!r:.40}.')
    return value


def limitOf(task, override=NONE):
    """The ``Limit`` of ``task`` (an ITask): its ``concurrency`` and
    ``rate`` options, each replaced by ``override``'s where that has
    one (the daemon's command line wins)."""
    concurrency = override.concurrency
    if concurrency is None:
        concurrency = checkConcurrency(getattr(task, 'concurrency', None))
    rate = override.rate
    if rate is None and getattr(task, 'rate', None) is not None:
        rate = parseRate(task.rate)
    if concurrency is None and rate is None:
        return NONE  # most tasks: asked for at every claim
    return Limit(concurrency, rate)


def recent(starts, now, rate):
    """The times among ``starts`` within ``rate``'s window ending at
    ``now``."""
    return [at for at in starts if at > now - rate.seconds]


def allowance(limit, running, starts, now, asked):
    """How many more runs of a task a claim at ``now`` may take, at most
    ``asked``: what is left of its concurrency once ``running`` runs hold
    a claim, and of its rate once the ``starts`` in the window are
    counted."""
    allowed = asked
    if limit.concurrency is not None:
        allowed = min(allowed, limit.concurrency - running)
    if limit.rate is not None:
        allowed = min(allowed, limit.rate.count - len(
            recent(starts, now, limit.rate)))
    return max(0, allowed)


def logStarts(starts, count, now, rate):
    """The start times to keep after ``count`` more starts at ``now``:
    those still in the window, newest last, at most ``rate.count`` (no
    more can ever matter)."""
    kept = recent(starts, now, rate) + [now] * count
    return kept[-rate.count:]


class Budget:
    """What one claim may still take, task by task.

    Made inside the claim's transaction from ``limits`` ({task: Limit},
    the limited ones among ``tasks``) and what the store read under its
    lock: ``running`` ({task: runs holding a claim}) and ``starts``
    ({task: [epoch seconds]}). A task without limits may take as many as
    the claim asks for.
    """

    def __init__(self, tasks, limits, running, starts, now):
        self.tasks = sorted(set(tasks))
        self.limits = {task: limit for task, limit in limits.items()
                       if limit and task in self.tasks}
        self.starts = {task: list(starts.get(task, ()))
                       for task in self.limits}
        self.now = now
        self.left = {task: allowance(limit, running.get(task, 0),
                                     self.starts[task], now, MAX_COUNT)
                     for task, limit in self.limits.items()}
        self.taken = dict.fromkeys(self.limits, 0)

    def allowed(self, asked):
        """``{task: how many}`` for a claim of up to ``asked`` runs,
        leaving out the tasks that may take none."""
        if not self.left:
            return dict.fromkeys(self.tasks, asked) if asked > 0 else {}
        allowed = {task: min(asked, self.left.get(task, asked))
                   for task in self.tasks}
        return {task: count for task, count in allowed.items() if count > 0}

    def take(self, rows):
        """Count the claimed ``rows`` against their tasks' limits (only
        the limited tasks' are counted: nothing reads the others')."""
        if self.left:
            for row in rows:
                task = row['task']
                if task in self.left:
                    self.left[task] -= 1
                    self.taken[task] += 1

    def startLogs(self):
        """``{task: starts}`` to store for the rate-limited tasks that
        took runs in this claim."""
        return {task: logStarts(self.starts[task], self.taken[task],
                                self.now, limit.rate)
                for task, limit in self.limits.items()
                if limit.rate is not None and self.taken[task]}
