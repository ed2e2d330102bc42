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

from importlib.metadata import EntryPoint, entry_points

from twisted.logger import Logger
from zope.interface import implementer

from remotetask.errors import NoSuchTask
from remotetask.interfaces import ITask, ITaskRegistry
from remotetask.core.task import SimpleTask

try:
    import zope.component as _component
except ImportError:  # pragma: no cover - the 'zope' extra is optional
    _component = None

TASKS_GROUP = 'remotetask.tasks'
EXAMPLES_GROUP = 'remotetask.examples'


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
    raise TypeError(f'{obj!r} is neither an ITask nor callable')


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
        self._entryPoints = None

    @classmethod
    def fromConfig(cls, config):
        """Rebuild a registry from ``toConfig()``, in a worker process."""
        registry = cls(config['groups'], useZope=False)
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
                    commandsFile=self._commandsFile)

    def registerPath(self, name, path):
        """Register the task found at ``path`` ('package.module:attr')."""
        task = asTask(EntryPoint(name, path, TASKS_GROUP).load())
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

    def unregister(self, name):
        del self._registered[name]

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
        task = self._registered.get(name)
        if task is None and self.useZope:
            task = _component.queryUtility(ITask, name=name)
        if task is None:
            task = self._loadEntryPoints().get(name)
        if task is None:
            raise NoSuchTask.named(name, self.getAvailableTasks())
        return task

    def getAvailableTasks(self):
        tasks = dict(self._loadEntryPoints())
        if self.useZope:
            tasks.update(_component.getUtilitiesFor(ITask))
        tasks.update(self._registered)
        return tasks
