"""Tasks: what a job runs.

A task is any object providing ``ITask``: called as ``task(service, jobid,
input)``, it returns the job's output. ``SimpleTask`` wraps a function of
the input alone, which is what most tasks are.
"""

from zope.interface import implementer

from remotetask.interfaces import ITask


class TaskError(Exception):
    """Raised by a task to end its job in ``error`` with a message meant
    for the client, without a traceback; any other exception is reported
    as ``'<Type>: <message>'`` with its traceback kept on the job."""

    def __init__(self, message='An error occurred.'):
        super().__init__(message)

    @property
    def message(self):
        return self.args[0] if self.args else ''


@implementer(ITask)
class SimpleTask:
    """A task made of a function that takes the job's input.

    ``timeout`` (seconds) bounds one run where the worker pool can enforce
    it; ``description`` is the line clients see in ``getAvailableTasks``
    (the function's docstring by default).
    """

    def __init__(self, func, timeout=None, description=None):
        self.func = func
        self.timeout = timeout
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
