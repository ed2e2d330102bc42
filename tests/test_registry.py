"""Finding tasks: entry points of installed distributions."""

import sys

import pytest

from remotetask import NoSuchTask, SimpleTask
from remotetask.core.commandtask import loadCommands
from remotetask.core.registry import TASKS_GROUP, TaskRegistry, parseTaskPath


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


@pytest.mark.parametrize('path', ['mytask:', ':hello', 'mytask', 'my task:x',
                                  'mytask:hello()', '1mod:f', ''])
def test_a_malformed_import_path_is_a_sentence(path):
    """An import path that is not module:name is a ValueError saying how
    to write one, from parsing and from registerPath alike."""
    with pytest.raises(ValueError, match='is not an import path: write '
                                         'package.module:function'):
        parseTaskPath(path)
    with pytest.raises(ValueError, match='is not an import path'):
        TaskRegistry(useZope=False).registerPath('hello', path)


def test_import_paths_name_a_module_and_an_attribute():
    """Dotted modules and attributes are split at the colon."""
    assert parseTaskPath('tests.tasks:echo') == ('tests.tasks', 'echo')
    assert parseTaskPath(' a.b : C.d ') == ('a.b', 'C.d')


def test_a_missing_module_says_where_it_was_looked_for(tmp_path,
                                                       monkeypatch):
    """A module found nowhere names the working directory and says to
    set PYTHONPATH; one missing attribute names the module's file."""
    monkeypatch.chdir(tmp_path)
    registry = TaskRegistry(useZope=False)
    with pytest.raises(ValueError, match=f"no module 'nosuch' on "
                                         f"PYTHONPATH or in the working "
                                         f"directory \\({tmp_path}\\); "
                                         'set PYTHONPATH'):
        registry.registerPath('x', 'nosuch.sub:task')
    with pytest.raises(ValueError, match="'tests.tasks' .* has no 'nope'"):
        registry.registerPath('x', 'tests.tasks:nope')


def test_an_import_directory_reaches_the_worker_processes(tmp_path,
                                                          monkeypatch):
    """A directory added for --task modules is searched after sys.path
    and travels in the configuration worker processes rebuild from."""
    monkeypatch.setattr(sys, 'path', list(sys.path))
    (tmp_path / 'localtasks_for_test.py').write_text(
        'def hello(input):\n    return "hi"\n')
    registry = TaskRegistry(useZope=False)
    registry.addImportDirectory(tmp_path)
    assert sys.path[-1] == str(tmp_path)
    registry.registerPath('hello', 'localtasks_for_test:hello')
    config = registry.toConfig()
    assert config['directories'] == [str(tmp_path)]
    sys.path.remove(str(tmp_path))
    del sys.modules['localtasks_for_test']
    rebuilt = TaskRegistry.fromConfig(config)
    assert rebuilt.lookup('hello')(None, 1, None) == 'hi'
    assert str(tmp_path) in sys.path


def test_a_commands_section_without_argv_is_a_sentence(tmp_path):
    """A command file's section without argv is refused naming the file
    and section, and saying what to write, not KeyError: 'argv'."""
    commands = tmp_path / 'commands.ini'
    commands.write_text('[convert]\ndescription = Convert\n')
    with pytest.raises(ValueError) as info:
        loadCommands(commands)
    assert str(info.value).startswith(
        f'{commands} [convert]: the section has no argv line; give the '
        'program and its arguments')
