"""The package layout's rules, checked on the source rather than trusted.

Layers talk downwards only: the wire and the web reach jobs through the
``TaskService``, never through a store, and the core stays usable without a
reactor (legacy hosts embed it in threads of their own).
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


@pytest.mark.parametrize('layer', ['wire', 'web'])
def test_the_wire_and_the_web_import_no_store(layer):
    """wire/ and web/ go through the TaskService; a store import there
    would let them do what the Python API cannot."""
    assert modulesOf(layer)
    bad = {path: names for path, names in
           offending(layer, ['remotetask.store']).items() if names}
    assert bad == {}


def test_the_core_imports_no_reactor():
    """core/ is synchronous: a legacy host uses it without a reactor."""
    assert modulesOf('core')
    bad = {path: names for path, names in
           offending('core', ['twisted.internet', 'remotetask.server',
                              'remotetask.wire', 'remotetask.web']).items()
           if names}
    assert bad == {}


def test_the_checks_see_a_forbidden_import(tmp_path):
    """The check itself finds an import inside a function, so the tests
    above cannot pass by looking at nothing."""
    module = tmp_path / 'sample.py'
    module.write_text('def f():\n    from remotetask.store import paging\n')
    assert 'remotetask.store.paging' in importedModules(module)
