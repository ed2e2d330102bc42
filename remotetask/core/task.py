"""Tasks: what a job runs.

A task is any object providing ``ITask``: called as ``task(service, jobid,
input)``, it returns the job's output. ``SimpleTask`` wraps a function of
the input alone, which is what most tasks are.
"""

from zope.interface import implementer

from remotetask.core.limits import checkConcurrency, parseRate
from remotetask.core.interfaces import ITask


#: How many times a job may start, by default: a job lost with its worker
#: or server (a crash, kill -9) is run again until then; a task's own
#: failures are retried only when it asks (``TaskError(retry=True)`` or
#: ``retryOn``).
MAX_ATTEMPTS = 3
#: Seconds before the first retry, doubling each time, up to BACKOFF_MAX.
BACKOFF = 2.0
BACKOFF_MAX = 300.0


class TaskError(Exception):
    """Raised by a task to end its job in ``error`` with a message meant
    for the client, without a traceback; any other exception is reported
    as ``'<Type>: <message>'`` with its traceback kept on the job.

    With ``retry=True`` the job is run again later if its task allows
    more attempts (``maxAttempts``).
    """

    def __init__(self, message='An error occurred.', retry=False):
        super().__init__(message)
        self.retry = retry

    @property
    def message(self):
        return self.args[0] if self.args else ''


@implementer(ITask)
class SimpleTask:
    """A task made of a function that takes the job's input.

    ``timeout`` (seconds) bounds one run where the worker pool can enforce
    it; ``description`` is the line clients see in ``getAvailableTasks``
    (the function's docstring by default). ``maxAttempts`` is how many
    times a job may start; ``retryOn`` the exception types after which it
    is retried (besides ``TaskError(retry=True)``), waiting ``backoff``
    seconds, doubling each time up to ``maxBackoff``, with jitter.
    ``concurrency`` bounds how many of its jobs run at once, ``rate`` how
    many start per second, minute or hour (``'10/m'``), across every
    server sharing a store (see ``remotetask.core.limits``).
    """

    def __init__(self, func, timeout=None, description=None,
                 maxAttempts=MAX_ATTEMPTS, retryOn=(), backoff=BACKOFF,
                 maxBackoff=BACKOFF_MAX, concurrency=None, rate=None):
        self.func = func
        self.timeout = timeout
        self.concurrency = checkConcurrency(concurrency)
        self.rate = None if rate is None else parseRate(rate)
        self.maxAttempts = maxAttempts
        self.retryOn = tuple(retryOn)
        self.backoff = backoff
        self.maxBackoff = maxBackoff
        if description is None:
            doc = (getattr(func, '__doc__', None) or '').strip()
            description = doc.splitlines()[0] if doc else ''
        self.description = description

    def __call__(self, service, jobid, input):
        return self.func(input)

    def __repr__(self):
        return f'<{type(self).__name__} {self.func!r}>'


def describe(task):
    """The one-line description of ``task`` that clients are shown."""
    description = getattr(task, 'description', None)
    if description:
        return str(description)
    doc = (type(task).__doc__ or '').strip()
    return doc.splitlines()[0] if doc else ''


def option(task, name):
    """A task's option (``maxAttempts``, ``retryOn``, ``backoff``,
    ``maxBackoff``, ``timeout``, ``concurrency``, ``rate``), or its
    default for tasks that do not say."""
    return getattr(task, name, _DEFAULTS[name])


#: The options' defaults (``option``), made once: asked for per run.
_DEFAULTS = dict(maxAttempts=MAX_ATTEMPTS, retryOn=(), backoff=BACKOFF,
                 maxBackoff=BACKOFF_MAX, timeout=None, concurrency=None,
                 rate=None)
