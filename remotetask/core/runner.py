"""Running one task and describing what came of it.

The same function runs a task in the service's own thread, in a worker
thread or in a worker process, so that a job ends the same way wherever it
ran. Nothing a task does escapes as an exception: every ending is an
``Outcome`` the store can keep.
"""

import traceback as tracebacks
from typing import NamedTuple

from remotetask.core import codec
from remotetask.core.progress import reporterVariable
from remotetask.errors import RemoteTaskError, UnstorableValue
from remotetask.core.task import TaskError, option


class Outcome(NamedTuple):
    """How a run ended: ``output`` is encoded text, as stores keep it;
    ``retry`` says the failure may go away if the job runs again."""

    ok: bool
    output: str | None = None
    error: str | None = None
    traceback: str | None = None
    retry: bool = False

    @classmethod
    def failed(cls, error, traceback=None, retry=False):
        return cls(False, None, error, traceback, retry)


def describeException(error):
    """The message a client sees for an exception raised by a task."""
    if isinstance(error, TaskError):
        return error.message
    return f'{type(error).__name__}: {error}'


def runTask(task, service, jobid, input, checkOutput=None, progress=None):
    """Call ``task(service, jobid, input)`` and return its Outcome.

    ``progress(fraction, message)`` gets the task's ``reportProgress``
    calls (None: they go nowhere).

    ``checkOutput(result)`` raises a ``RemoteTaskError`` for a result the
    clients could not read (the server's wire check): it runs here, where
    the task ran, so that a big result is looked at once, and never on the
    server's network thread."""
    # What ``progress.reporting`` does, without its generator per run.
    token = reporterVariable.set(progress)
    try:
        result = task(service, jobid, input)
    except TaskError as error:
        return Outcome.failed(describeException(error), retry=error.retry)
    except Exception as error:
        retry = isinstance(error, option(task, 'retryOn'))
        return Outcome.failed(describeException(error),
                              tracebacks.format_exc(), retry=retry)
    finally:
        reporterVariable.reset(token)
    try:
        output = codec.encode(result, 'the result')
    except UnstorableValue as error:
        return Outcome.failed(f'The task returned a result that cannot be '
                              f'stored: {error}')
    if checkOutput is not None:
        try:
            checkOutput(result)
        except RemoteTaskError as error:
            return Outcome.failed(error.message)
    return Outcome(True, output)
