"""The legacy import location of the interfaces and the status constants
(``lovely.remotetask.interfaces``, ``z3c.taskqueue.interfaces``); they are
declared in ``remotetask.core.interfaces``, a module per role."""

from remotetask.core.interfaces import *  # noqa: F401,F403
from remotetask.core.interfaces import __all__  # noqa: F401
