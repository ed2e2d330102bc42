"""The interfaces of remotetask, named as in z3c.taskqueue, each in the
module of its role: the Python API's (``interfaces.tasks``), the store
contract (``interfaces.store``), and what a store may have or be besides
(``interfaces.storeparts``). Every one is imported from here, as it
always was.

Legacy code imports the status constants from here too, as it did from
``z3c.taskqueue.interfaces``.
"""

from remotetask.core.status import (
    CANCELLED, COMPLETED, CRONJOB, DELAYED, ERROR, PROCESSING, QUEUED,
    STARTLATER)
from remotetask.interfaces.store import IJobStore
from remotetask.interfaces.storeparts import (
    IApiTokenStore, IQuickWrites, ISharedJobStore)
from remotetask.interfaces.tasks import (
    ICronJob, IJob, ITask, ITaskRegistry, ITaskService)

__all__ = [
    'ITask', 'IJob', 'ICronJob', 'ITaskRegistry', 'ITaskService',
    'IJobStore', 'IQuickWrites', 'IApiTokenStore', 'ISharedJobStore',
    'CANCELLED', 'COMPLETED', 'CRONJOB', 'DELAYED', 'ERROR', 'PROCESSING',
    'QUEUED', 'STARTLATER']
