"""remotetask: a server that runs pre-defined tasks for other servers.

The Python API of lovely.remotetask / z3c.taskqueue, on a durable store.
"""

from remotetask.errors import (
    InternalError, InvalidArgument, NoSuchJob, NoSuchTask, NotAllowed,
    NotAuthorised, RemoteTaskError, RequestTooLarge, StoreUnavailable,
    UnstorableValue)
from remotetask.core.job import CronJob, Job
from remotetask.core.progress import reportProgress
from remotetask.service import TaskService
from remotetask.core.status import (
    CANCELLED, COMPLETED, CRONJOB, DELAYED, ERROR, PROCESSING, QUEUED,
    STARTLATER, WAITING, Status)
from remotetask.core.task import SimpleTask, TaskError

# The legacy modules, so that ``remotetask.service.TaskService`` works after
# ``import remotetask``, as ``taskqueue.service.TaskService`` did after
# ``from z3c import taskqueue``.
from remotetask import job, processor, service, task  # noqa: E402,F401



def __getattr__(name):
    # The installed distribution's version, read when first asked for
    # (``remotetask --version``), not on every import of the package.
    if name != '__version__':
        raise AttributeError(f'module {__name__!r} has no attribute {name!r}')
    import importlib.metadata
    try:
        return importlib.metadata.version('remotetask')
    except importlib.metadata.PackageNotFoundError:
        return 'unknown (not installed)'


__all__ = [
    'TaskService', 'SimpleTask', 'TaskError', 'Job', 'CronJob', 'Status',
    'reportProgress',
    'QUEUED', 'PROCESSING', 'COMPLETED', 'ERROR', 'CANCELLED', 'CRONJOB',
    'DELAYED', 'STARTLATER', 'WAITING',
    'RemoteTaskError', 'NoSuchTask', 'NoSuchJob', 'InvalidArgument',
    'UnstorableValue', 'NotAllowed', 'StoreUnavailable', 'RequestTooLarge',
    'NotAuthorised', 'InternalError',
]
