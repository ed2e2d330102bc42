"""The legacy import location of ``TaskService`` (``lovely.remotetask.service``,
``z3c.taskqueue.service``); the code lives in ``remotetask.core.service``."""

from remotetask.core.service import TaskService  # noqa: F401
