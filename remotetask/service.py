"""The legacy import location of ``TaskService`` (``lovely.remotetask.service``,
``z3c.taskqueue.service``).

Here, as in the originals, ``TaskService()`` needs no argument: a Zope host
registers it as a utility, and a script makes one to try things. Given no
store, it makes one in memory. The core's own ``TaskService``
(``remotetask.core.service``) is given its store, so that the core imports
no store.
"""

from remotetask.core import service as core
from remotetask.store import openStore


class TaskService(core.TaskService):
    """``remotetask.core.service.TaskService``, whose ``store`` is a new
    one in memory when None."""

    def __init__(self, store=None, registry=None, timezone=None,
                 limits=None, clock=None):
        super().__init__(openStore('memory:') if store is None else store,
                         registry, timezone, limits, clock)
