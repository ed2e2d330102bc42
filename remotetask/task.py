"""The legacy import location of ``SimpleTask`` and ``TaskError``
(``lovely.remotetask.task``); the code lives in ``remotetask.core.task``."""

from remotetask.core.task import SimpleTask, TaskError  # noqa: F401
