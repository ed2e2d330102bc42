"""Finding tasks: entry points of installed distributions."""

import pytest

from remotetask import NoSuchTask, SimpleTask
from remotetask.core.registry import TASKS_GROUP, TaskRegistry


@pytest.fixture
def distribution(tmp_path, monkeypatch):
    """A real installed distribution (a .dist-info on sys.path) that
    declares tasks in the remotetask.tasks group."""
    info = tmp_path / 'demo_tasks-1.0.dist-info'
    info.mkdir()
    (info / 'METADATA').write_text('Metadata-Version: 2.1\nName: demo-tasks\n'
                                   'Version: 1.0\n')
    (info / 'entry_points.txt').write_text(
        f'[{TASKS_GROUP}]\n'
        'echo = tests.tasks:echo\n'
        'broken = tests.no_such_module:task\n')
    monkeypatch.syspath_prepend(str(tmp_path))
    return info


def test_entry_points_are_tasks(distribution):
    """A function named by an entry point is wrapped as a SimpleTask; one
    that cannot be imported is left out instead of failing the rest."""
    registry = TaskRegistry()
    tasks = registry.getAvailableTasks()
    assert sorted(tasks) == ['echo']
    assert isinstance(tasks['echo'], SimpleTask)
    assert tasks['echo'](None, 1, 'x') == 'x'
    with pytest.raises(NoSuchTask, match="'broken'.*available: echo"):
        registry.lookup('broken')


def test_python_registration_overrides_entry_points(distribution):
    """register() wins over an entry point of the same name."""
    registry = TaskRegistry()
    registry.register('echo', lambda input: 'mine')
    assert registry.lookup('echo')(None, 1, 'x') == 'mine'
    registry.unregister('echo')
    assert registry.lookup('echo')(None, 1, 'x') == 'x'


def test_no_entry_points_from_this_package():
    """With only remotetask installed, no task is declared."""
    assert TaskRegistry(useZope=False).getAvailableTasks() == {}
