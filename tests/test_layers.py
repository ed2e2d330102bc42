"""The package layout's rules, checked on the source rather than trusted.

Layers talk downwards only: the wire and the web reach jobs through the
``TaskService``, never through a store, and the core stays usable without a
reactor (legacy hosts embed it in threads of their own); and no two parts
of the package import each other, whichever way round, so that each can
be read, tested and replaced on its own.
"""

import ast
import pathlib

import pytest

PACKAGE = pathlib.Path(__file__).resolve().parent.parent / 'remotetask'


def importedModules(path):
    """Every module ``path`` imports, at any depth (function-level
    imports included), as dotted names."""
    found = set()
    for node in ast.walk(ast.parse(path.read_text(encoding='utf-8'))):
        if isinstance(node, ast.Import):
            found.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module:
            found.add(node.module)
            found.update(f'{node.module}.{alias.name}'
                         for alias in node.names)
    return found


def modulesOf(layer):
    return sorted((PACKAGE / layer).rglob('*.py'))


def offending(layer, forbidden):
    return {str(path.relative_to(PACKAGE)): sorted(
                name for name in importedModules(path)
                if any(name == prefix or name.startswith(prefix + '.')
                       for prefix in forbidden))
            for path in modulesOf(layer)}


def partOf(dotted):
    """The part a dotted module name belongs to: a sub-package
    (``remotetask.core``, ``remotetask.server.pipeline``) or a module of
    the top level (``remotetask.errors``, ``remotetask.cli``)."""
    names = dotted.split('.')
    depth = 3 if names[1:2] == ['server'] else 2
    return '.'.join(names[:depth])


def dependencies(package):
    """Which part imports which: {importer: {imported, ...}}, over every
    module of ``package`` (the worker processes' modules included)."""
    root = package.parent
    graph = {}
    for path in package.rglob('*.py'):
        names = path.relative_to(root).with_suffix('').parts
        dotted = '.'.join(names[:-1] if names[-1] == '__init__' else names)
        importer = partOf(dotted)
        imported = graph.setdefault(importer, set())
        for name in importedModules(path):
            if name.split('.')[0] == package.name:
                part = partOf(name)
                if part != importer:
                    imported.add(part)
    return graph


def cycles(graph):
    """Every pair of parts that reach each other through imports, as
    sorted pairs."""
    def reachable(start):
        seen, todo = set(), [start]
        while todo:
            for nxt in graph.get(todo.pop(), ()):
                if nxt not in seen:
                    seen.add(nxt)
                    todo.append(nxt)
        return seen
    reach = {part: reachable(part) for part in graph}
    return sorted({tuple(sorted((a, b))) for a in graph for b in reach[a]
                   if a != b and a in reach.get(b, ())})


@pytest.mark.parametrize('layer', ['wire', 'web'])
def test_the_wire_and_the_web_import_no_store(layer):
    """wire/ and web/ go through the TaskService; a store import there
    would let them do what the Python API cannot."""
    assert modulesOf(layer)
    bad = {path: names for path, names in
           offending(layer, ['remotetask.store']).items() if names}
    assert bad == {}


def test_the_core_imports_no_reactor_and_no_store():
    """core/ is synchronous: a legacy host uses it without a reactor. It
    imports no store either: the stores import the core, and the caller
    gives a service its store (``remotetask.TaskService`` makes one in
    memory), so the two packages do not depend on each other."""
    assert modulesOf('core')
    bad = {path: names for path, names in
           offending('core', ['twisted.internet', 'remotetask.server',
                              'remotetask.wire', 'remotetask.web',
                              'remotetask.store']).items()
           if names}
    assert bad == {}


def readsSystemTime(path):
    """The lines of ``path`` that read the system's time: ``time.time``
    (called or not) or ``from time import time``."""
    found = []
    for node in ast.walk(ast.parse(path.read_text(encoding='utf-8'))):
        if (isinstance(node, ast.Attribute) and node.attr == 'time'
                and isinstance(node.value, ast.Name)
                and node.value.id == 'time'):
            found.append(node.lineno)
        elif isinstance(node, ast.ImportFrom) and node.module == 'time' \
                and any(alias.name == 'time' for alias in node.names):
            found.append(node.lineno)
    return sorted(found)


def test_the_core_reads_the_time_from_its_clock_alone():
    """No module of core/ but clock.py reads the system's time: the rest
    read it from the clock they were given, so that tests drive it."""
    bad = {str(path.relative_to(PACKAGE)): readsSystemTime(path)
           for path in modulesOf('core')
           if path.name != 'clock.py' and readsSystemTime(path)}
    assert bad == {}
    assert readsSystemTime(PACKAGE / 'core' / 'clock.py')


def test_the_checks_see_a_forbidden_import(tmp_path):
    """The check itself finds an import inside a function, and a read of
    the system's time, so the tests above cannot pass by looking at
    nothing."""
    module = tmp_path / 'sample.py'
    module.write_text('def f():\n    from remotetask.store import paging\n'
                      '    import time\n    return time.time\n'
                      'from time import time\n')
    assert 'remotetask.store.paging' in importedModules(module)
    assert readsSystemTime(module) == [4, 5]


def test_no_two_parts_import_each_other():
    """Every pair of parts (the sub-packages, server/'s four included,
    and the top-level modules) depends one way at most."""
    graph = dependencies(PACKAGE)
    assert {'remotetask.core', 'remotetask.store',
            'remotetask.server.workers'} <= set(graph)
    assert cycles(graph) == []


def test_the_checks_see_a_cycle(tmp_path):
    """Two parts importing each other, one of them only inside a
    function and through a third, are found."""
    package = tmp_path / 'remotetask'
    for part in ('core', 'store', 'server/pipeline'):
        (package / part).mkdir(parents=True)
        (package / part / '__init__.py').write_text('')
    (package / '__init__.py').write_text('')
    (package / 'core' / 'service.py').write_text(
        'from remotetask.server.pipeline import feeder\n')
    (package / 'server' / 'pipeline' / 'feeder.py').write_text(
        'from remotetask.store.sqlite import SQLiteJobStore\n')
    (package / 'store' / 'sqlite.py').write_text(
        'def f():\n    import remotetask.core.job\n')
    assert cycles(dependencies(package)) == [
        ('remotetask.core', 'remotetask.server.pipeline'),
        ('remotetask.core', 'remotetask.store'),
        ('remotetask.server.pipeline', 'remotetask.store')]
