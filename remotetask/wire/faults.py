"""The one place where exceptions become XML-RPC faults.

Every error a client can cause is a ``RemoteTaskError`` carrying its
``faultCode`` (``remotetask.errors``); anything else reaching a client is
a bug, and is sent as fault 9 with no details (they go to the log).
"""

from twisted.web.xmlrpc import Fault

from remotetask.errors import InternalError, RemoteTaskError


def toFault(error):
    """The Fault a client sees for ``error`` (an exception or Fault)."""
    if isinstance(error, Fault):
        return error
    if isinstance(error, RemoteTaskError):
        return Fault(error.faultCode, error.message)
    return Fault(InternalError.faultCode, InternalError().message)
