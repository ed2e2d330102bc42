"""The map of the code in docs/architecture.md matches the tree: it names
every module of every package, and nothing that is not there."""

import pathlib
import re

ROOT = pathlib.Path(__file__).resolve().parent.parent
MAP = ROOT / 'docs' / 'architecture.md'


def mapped(text):
    """``{package directory: {module file names}}`` as the map gives
    them: each backticked ``remotetask/.../`` opens a package, and the
    backticked ``*.py``/``*.sql`` names after it are its modules."""
    section = text.split('## The map of the code', 1)[1]
    found, package = {}, None
    for name in re.findall(r'`([\w/.]+)`', section):
        if name.startswith('remotetask/') and name.endswith('/'):
            package = found.setdefault(name.rstrip('/'), set())
        elif package is not None and re.fullmatch(r'\w+\.(py|sql)', name):
            package.add(name)
    return found


def tree(root):
    """The same, read from the source tree (``__init__.py`` aside)."""
    found = {}
    for init in (root / 'remotetask').rglob('__init__.py'):
        directory = init.parent
        found[str(directory.relative_to(root))] = {
            path.name for path in directory.iterdir()
            if path.suffix in ('.py', '.sql') and path.name != '__init__.py'}
    return found


def test_the_map_names_every_module_and_no_other():
    """Each package in the tree has an entry in the map listing exactly
    its modules."""
    assert mapped(MAP.read_text(encoding='utf-8')) == tree(ROOT)


def test_the_check_sees_a_module_the_map_misses(tmp_path):
    """A module added to the tree but not to the map is found."""
    (tmp_path / 'remotetask' / 'core').mkdir(parents=True)
    for name in ('__init__.py', 'core/__init__.py', 'core/job.py',
                 'core/new.py'):
        (tmp_path / 'remotetask' / name).write_text('')
    text = ('## The map of the code\n### `remotetask/`\n\n'
            '### `remotetask/core/`\n`job.py`\n')
    assert mapped(text) != tree(tmp_path)
    assert mapped(text)['remotetask/core'] == {'job.py'}
    assert tree(tmp_path)['remotetask/core'] == {'job.py', 'new.py'}
