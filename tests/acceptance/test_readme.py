"""README's "A first run" against the real daemon: each command it shows,
run as shown, prints what README says it prints (times aside)."""

import os
import re
import shlex
import subprocess
import sys

from tests.acceptance.daemon import ROOT, Daemon

CLI = [sys.executable, '-c',
       'import sys; from remotetask.cli import main; sys.exit(main())']


def firstRun():
    """The (command, expected output lines) pairs of README's "A first
    run" block."""
    with open(os.path.join(ROOT, 'README.md')) as file:
        section = file.read().split('## A first run', 1)[1].split('\n## ')[0]
    steps = []
    for line in section.splitlines():
        if line.startswith('    $ '):
            steps.append((line[len('    $ '):], []))
        elif line.startswith('    ') and steps:
            steps[-1][1].append(line[4:])
        elif line.strip() and steps:
            break   # the example ended
    return steps


def timeless(lines):
    """``lines`` with clock readings made alike: elapsed seconds, dates;
    a job seen queued before it ran is as likely as not, so that line
    goes."""
    lines = [re.sub(r'\d{4}-\d\d-\d\d \d\d:\d\d:\d\d', 'DATE',
                    re.sub(r'\d+\.\d s', 'N s', line)) for line in lines]
    return [line for line in lines if line.strip() != 'N s  queued']


def test_the_first_run_prints_what_readme_shows(tmp_path):
    """Run as README shows it, each command prints its lines (stderr,
    then stdout, as a terminal shows them for these commands)."""
    daemon = Daemon(str(tmp_path), args=['--examples'], tasks=()).start()
    try:
        steps = firstRun()
        assert [command.split()[1] for command, _ in steps] == ['add', 'jobs']
        env = dict(os.environ, PYTHONPATH=ROOT, TZ='UTC')
        for command, expected in steps:
            args = shlex.split(command)[1:]   # without venv/bin/remotetask
            done = subprocess.run([*CLI, '--url', daemon.url, *args],
                                  capture_output=True, text=True, env=env,
                                  timeout=60)
            assert done.returncode == 0, done
            shown = (done.stderr + done.stdout).splitlines()
            assert timeless(shown) == timeless(expected), command
    finally:
        daemon.kill()
