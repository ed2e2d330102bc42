"""Legacy Zope code: tasks as zope.component utilities, the service as
one, and the interfaces every implementation provides."""

import re

import pytest
import zope.component
from zope.interface import providedBy
from zope.interface.verify import verifyObject

from remotetask import SimpleTask, TaskService
from remotetask.interfaces import ITask, ITaskRegistry, ITaskService
from remotetask.core.registry import TaskRegistry


def echo(input):
    return input


@pytest.fixture
def cleanRegistry():
    """zope.component's global registry, emptied after the test."""
    yield zope.component.getGlobalSiteManager()
    zope.component.getGlobalSiteManager().__init__('base')


def test_SimpleTask_calls_the_function_and_shows_it():
    """SimpleTask(f)(service, jobid, input) is f(input); repr names f."""
    task = SimpleTask(echo)
    assert task(None, 1, {'a': 1}) == {'a': 1}
    assert re.fullmatch(r'<SimpleTask <function echo at 0x[0-9a-f]+>>',
                        repr(task))
    assert list(providedBy(task)) == [ITask]
    assert verifyObject(ITask, task)


def test_utilities_are_available_tasks(cleanRegistry):
    """provideUtility(SimpleTask(f), name='echo') makes 'echo' runnable."""
    zope.component.provideUtility(SimpleTask(echo), name='echo')
    service = TaskService()
    assert list(service.getAvailableTasks()) == ['echo']
    jobid = service.add('echo', 'hi')
    service.process()
    assert service.getResult(jobid) == 'hi'


def test_service_is_a_named_utility(cleanRegistry):
    """The service registers as a named ITaskService utility."""
    service = TaskService()
    zope.component.provideUtility(service, ITaskService, name='tasks')
    assert zope.component.getUtility(ITaskService, name='tasks') is service


def test_registry_provides_its_interface():
    """TaskRegistry provides ITaskRegistry."""
    assert verifyObject(ITaskRegistry, TaskRegistry())


def test_python_registration_wins_over_utilities(cleanRegistry):
    """A task registered on the service's registry overrides a utility
    of the same name."""
    zope.component.provideUtility(SimpleTask(echo), name='echo')
    service = TaskService()
    mine = SimpleTask(lambda input: 'mine')
    service.registry.register('echo', mine)
    assert service.getAvailableTasks()['echo'] is mine


def test_utilities_registered_or_removed_later_are_seen(cleanRegistry):
    """A utility provided or removed after the registry was asked (which
    keeps what it merged) is seen at the next lookup, as is a task
    registered or unregistered in Python, and a registry emptied and
    filled again."""
    service = TaskService()
    registry = service.registry
    assert 'echo' not in registry.getAvailableTasks()
    task = SimpleTask(echo)
    zope.component.provideUtility(task, name='echo')
    assert registry.lookup('echo') is task
    mine = SimpleTask(lambda input: 'mine')
    registry.register('echo', mine)
    assert registry.lookup('echo') is mine
    registry.unregister('echo')
    assert registry.lookup('echo') is task
    cleanRegistry.unregisterUtility(task, name='echo')
    assert 'echo' not in registry.getAvailableTasks()
    zope.component.provideUtility(task, name='echo')
    assert registry.lookup('echo') is task
    zope.component.getGlobalSiteManager().__init__('base')
    other = SimpleTask(echo)
    zope.component.provideUtility(other, name='echo')
    assert registry.lookup('echo') is other
