"""The legacy import location of the processors
(``lovely.remotetask.processor``, ``z3c.taskqueue.processor``); the code
lives in ``remotetask.core.processor``."""

from remotetask.core.processor import (  # noqa: F401
    MultiProcessor, SimpleProcessor)
