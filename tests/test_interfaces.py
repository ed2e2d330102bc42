"""The interfaces are declared in remotetask.core.interfaces, a module per
role, and every name legacy code imports from remotetask.interfaces is
still imported from there."""

import importlib

from zope.interface.interface import InterfaceClass

from remotetask import interfaces

#: What ``remotetask.interfaces`` exported as one module, before the split.
NAMES = ('ITask', 'IJob', 'ICronJob', 'ITaskRegistry', 'ITaskService',
         'IJobStore', 'IQuickWrites', 'IApiTokenStore', 'CANCELLED',
         'COMPLETED', 'CRONJOB', 'DELAYED', 'ERROR', 'PROCESSING', 'QUEUED',
         'STARTLATER')


def test_every_name_is_still_imported_from_remotetask_interfaces():
    """Each interface and status constant is an attribute of the legacy
    module, listed in its __all__, the interfaces defined in the core's
    role modules."""
    assert set(NAMES) <= set(interfaces.__all__)
    for name in interfaces.__all__:
        value = getattr(interfaces, name)
        if isinstance(value, InterfaceClass):
            module = importlib.import_module(value.__module__)
            assert module.__name__.startswith('remotetask.core.interfaces.')
            assert getattr(module, name) is value
    assert interfaces.QUEUED == 'queued'
