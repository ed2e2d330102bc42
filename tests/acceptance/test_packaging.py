"""What a plain (non-editable) install puts on a machine."""

import os
import subprocess
import sys

from tests.acceptance.daemon import ROOT


def test_plain_install_provides_the_plugin_and_the_examples(tmp_path):
    """After `pip install .` (here into a target directory, dependencies
    taken from this environment), `twistd --help` lists remotetask, the
    plugin's --help works, the example tasks are declared, and the
    remotetask command is installed once."""
    target = tmp_path / 'site'
    subprocess.run(
        [sys.executable, '-m', 'pip', 'install', '--quiet', '--no-deps',
         '--target', str(target), ROOT],
        check=True, timeout=300, cwd=tmp_path)
    assert (target / 'twisted' / 'plugins' / 'remotetask_plugin.py').exists()
    assert (target / 'remotetask' / 'store' / 'sqlite.sql').exists()
    assert (target / 'remotetask' / 'web' / 'static' / 'app.js').exists()
    # Only the installed copy is importable: not this checkout.
    env = dict(os.environ, PYTHONPATH=str(target))
    twistd = [sys.executable, '-m', 'twisted']

    def run(*args):
        return subprocess.run([*twistd, *args], capture_output=True,
                              text=True, timeout=120, cwd=tmp_path, env=env)
    listing = run('--help')
    assert 'remotetask' in listing.stdout, listing.stderr
    help = run('remotetask', '--help')
    assert '--listen' in help.stdout and '--store' in help.stdout
    probe = subprocess.run(
        [sys.executable, '-c',
         'import remotetask, importlib.metadata as m;'
         'print(remotetask.__file__);'
         'print(sorted(e.name for e in m.entry_points('
         'group="remotetask.examples")))'],
        capture_output=True, text=True, timeout=60, cwd=tmp_path, env=env)
    assert probe.stdout.splitlines() == [
        str(target / 'remotetask' / '__init__.py'), "['echo', 'sleep']"]
    # The command is installed once, as its console script: the install
    # records one file named remotetask, not a copied script beside it.
    record, = target.glob('remotetask-*.dist-info/RECORD')
    commands = [line for line in record.read_text().splitlines()
                if line.split(',')[0].rsplit('/', 1)[-1] == 'remotetask']
    assert len(commands) == 1 and commands[0].startswith('../../bin/'), \
        commands
