"""The interfaces of remotetask, named as in z3c.taskqueue, each in the
module of its role: the Python API's (``interfaces.tasks``), the store
contract (``interfaces.store``), and what a store may have or be besides
(``interfaces.storeparts``). They are the core's contracts: the core
implements the Python API's and uses a store through the store's, which
the stores implement, so that the core need not know them.

``remotetask.interfaces`` is where legacy code imports them from, with
the status constants, as it did from ``z3c.taskqueue.interfaces``.
"""

from remotetask.core.status import (
    CANCELLED, COMPLETED, CRONJOB, DELAYED, ERROR, PROCESSING, QUEUED,
    STARTLATER)
from remotetask.core.interfaces.store import IJobStore
from remotetask.core.interfaces.storeparts import (
    IApiTokenStore, IQuickWrites, ISharedJobStore)
from remotetask.core.interfaces.tasks import (
    ICronJob, IJob, ITask, ITaskRegistry, ITaskService)

__all__ = [
    'ITask', 'IJob', 'ICronJob', 'ITaskRegistry', 'ITaskService',
    'IJobStore', 'IQuickWrites', 'IApiTokenStore', 'ISharedJobStore',
    'CANCELLED', 'COMPLETED', 'CRONJOB', 'DELAYED', 'ERROR', 'PROCESSING',
    'QUEUED', 'STARTLATER']
