"""Finding tasks by name.

Three sources, merged, the later winning on a name clash:

1. the entry-point group ``remotetask.tasks`` of every installed
   distribution (how a deployment declares its tasks);
2. ``zope.component`` utilities providing ``ITask``, when zope.component
   is installed (how legacy Zope code registers them);
3. tasks registered on the registry in Python (library use and tests).

An entry point may name an ``ITask`` provider or a plain function, which
is wrapped in a ``SimpleTask``. One that fails to load is logged and left
out, so that one broken plug-in does not take the server down.
"""

import functools
import importlib
import os
import re
import sys
from importlib.metadata import entry_points

from twisted.logger import Logger
from zope.interface import implementer

from remotetask.errors import NoSuchTask
from remotetask.core.interfaces import ITask, ITaskRegistry
from remotetask.core.task import SimpleTask

try:
    import zope.component as _component
except ImportError:  # pragma: no cover - the 'zope' extra is optional
    _component = None

TASKS_GROUP = 'remotetask.tasks'
EXAMPLES_GROUP = 'remotetask.examples'


_NAME = r'[^\W\d]\w*(?:\.[^\W\d]\w*)*'
_PATH = re.compile(rf'\s*(?P<module>{_NAME})\s*:\s*(?P<attr>{_NAME})\s*')

_OPTIONS = ('timeout', 'maxAttempts', 'retryOn', 'backoff', 'maxBackoff',
            'concurrency', 'rate')


def asTask(obj):
    """``obj`` as an ITask: itself if it is one, else a SimpleTask, whose
    options (``timeout``, ``maxAttempts``, ``retryOn``, ...) are the
    function's attributes of those names, where it has them."""
    if ITask.providedBy(obj):
        return obj
    if callable(obj):
        return SimpleTask(obj, **{name: getattr(obj, name)
                                  for name in _OPTIONS if hasattr(obj, name)})
    raise TypeError(f'{obj!r:.60} (a {type(obj).__name__}) is not a task: '
                    'give a function (or any callable) or an object that '
                    'provides ITask')


def parseTaskPath(path):
    """``(module, attribute)`` of an import path 'package.module:function';
    a ValueError saying what is wrong with it."""
    match = _PATH.fullmatch(path)
    if match is None:
        raise ValueError(
            f'{path!r} is not an import path: write package.module:function '
            '(the module, a colon, then the name of the task in it)')
    return match['module'], match['attr']


def _load(path):
    """The object at ``path``; ValueError when the module or the name in
    it is not there (other errors raised by importing it propagate)."""
    module, attribute = parseTaskPath(path)
    try:
        found = importlib.import_module(module)
    except ModuleNotFoundError as error:
        if error.name is None or not (module + '.').startswith(
                error.name + '.'):
            raise  # the module is there; something it imports is not
        raise ValueError(
            f'there is no module {error.name!r} on PYTHONPATH or in the '
            f'working directory ({os.getcwd()}); set PYTHONPATH to the '
            'directory that holds it') from None
    try:
        return functools.reduce(getattr, attribute.split('.'), found)
    except AttributeError:
        raise ValueError(
            f'the module {module!r} ({getattr(found, "__file__", "?")}) '
            f'has no {attribute!r}') from None


@implementer(ITaskRegistry)
class TaskRegistry:
    """The tasks a service can run; see the module docstring."""

    log = Logger()

    def __init__(self, groups=(TASKS_GROUP,), useZope=True):
        self.groups = tuple(groups)
        self.useZope = useZope and _component is not None
        self._registered = {}
        self._paths = {}
        self._commandsFile = None
        self._directories = []
        self._entryPoints = None
        # The merged tasks, and what they were merged from: read by
        # every add, claim and admitted run (three times a job), where
        # asking zope.component each time cost more than the rest of
        # the lookup; merged again when a source changes.
        self._merged = (None, None)  # (what it was merged from, tasks)
        self._changes = 0

    @classmethod
    def fromConfig(cls, config):
        """Rebuild a registry from ``toConfig()``, in a worker process."""
        registry = cls(config['groups'], useZope=False)
        for directory in config.get('directories', ()):
            registry.addImportDirectory(directory)
        for name, path in config['paths'].items():
            registry.registerPath(name, path)
        if config['commandsFile']:
            registry.registerCommands(config['commandsFile'])
        return registry

    def toConfig(self):
        """What a worker process needs to find the same tasks by name.

        Tasks registered as Python objects cannot cross a process
        boundary; only entry points, import paths and command files do.
        """
        return dict(groups=list(self.groups), paths=dict(self._paths),
                    commandsFile=self._commandsFile,
                    directories=list(self._directories))

    def addImportDirectory(self, directory):
        """Find the modules of ``registerPath`` in ``directory`` too (the
        daemon's working directory), after every other entry of
        ``sys.path``, so that a module there never hides an installed
        one."""
        directory = os.path.abspath(directory)
        if directory not in sys.path:
            sys.path.append(directory)
        if directory not in self._directories:
            self._directories.append(directory)

    def registerPath(self, name, path):
        """Register the task found at ``path`` ('package.module:attr');
        a ValueError in words when there is none."""
        task = asTask(_load(path))
        self._paths[name] = path
        self.register(name, task)

    def registerCommands(self, filename):
        """Register the command tasks declared in ``filename``."""
        from remotetask.core.commandtask import loadCommands
        for name, task in loadCommands(filename).items():
            self.register(name, task)
        self._commandsFile = filename

    def register(self, name, task):
        self._registered[name] = asTask(task)
        self._changes += 1

    def unregister(self, name):
        del self._registered[name]
        self._changes += 1

    def _loadEntryPoints(self):
        if self._entryPoints is None:
            loaded = {}
            for group in self.groups:
                for point in entry_points(group=group):
                    try:
                        loaded[point.name] = asTask(point.load())
                    except Exception:
                        self.log.failure(
                            'Task {name!r} ({value}) failed to load; '
                            'it is left out', name=point.name,
                            value=point.value)
            self._entryPoints = loaded
        return self._entryPoints

    def lookup(self, name):
        task = self._tasks().get(name)
        if task is None:
            raise NoSuchTask.named(name, self.getAvailableTasks())
        return task

    def getAvailableTasks(self):
        return dict(self._tasks())

    def _tasks(self):
        """``{name: task}`` of the three sources merged (the dict kept:
        not to be changed), merged again when one has changed since: a
        task registered or unregistered here, or zope.component's
        utilities (their registry's generation, which zope bumps at
        every change to it or to a registry it is based on)."""
        source = self._changes
        if self.useZope:
            utilities = _component.getSiteManager().utilities
            generation = getattr(utilities, '_generation', None)
            # The registry itself too (a site manager may be given new
            # ones); without a generation to compare, nothing is kept.
            source = (source, utilities,
                      object() if generation is None else generation)
        mergedFrom, merged = self._merged  # one read: other threads ask
        if merged is None or mergedFrom != source:
            merged = dict(self._loadEntryPoints())
            if self.useZope:
                merged.update(_component.getUtilitiesFor(ITask))
            merged.update(self._registered)
            self._merged = (source, merged)
        return merged
