"""Every code block of README.md and docs/*.md, run against the real
daemon: what the pages show is what the server does.

The convention a page follows (every page, whoever writes it):

- Code goes in fenced blocks (```). Each block is one of:

  - ```console: lines ``$ command`` (a trailing ``\\`` continues it on
    the next line), each followed by exactly what it prints, stdout and
    stderr as a terminal interleaves them. The command runs in bash, in
    the page's own empty directory, with the test's virtualenv first on
    PATH (``remotetask``, ``python3``) and ``venv`` there a link to that
    virtualenv (``venv/bin/remotetask``), ``HOME`` that directory and
    ``TZ=UTC``. Output is compared line for line, after clock readings
    are made alike (``2026-11-29 22:24:07`` and ``0.4 s`` match any
    other; a ``N s  queued`` line of ``--wait`` may be there or not); a
    ``...`` in a shown line stands for any text. The exit status is not
    compared: show it (``; echo $?``) where it matters.
  - ``$ remotetask serve ...`` (or ``venv/bin/remotetask serve``) in a
    console block starts the page's server in the background and waits
    until it listens; it is stopped with SIGTERM when the page ends.
    Its ``--listen`` port is replaced by a free one; the lines shown
    after it must appear in its log, in that order (others between them
    are fine). One server per shown port: serving the same port again
    stops the first. A line ``^C`` alone in a console block stops the
    page's servers as Ctrl-C in their terminal does (SIGINT), and waits
    for them to end. A serve with shell around it (``...; echo $?``)
    runs in the foreground like any command: a server refusing to start.
  - ```python (or ```pycon) holding ``>>> `` lines: a doctest, with
    ELLIPSIS and NORMALIZE_WHITESPACE, run in the page's directory. The
    blocks of a page share their names, as the sections of one doctest
    file do.
  - Any block preceded by ``<!-- file: NAME -->`` (the last non-blank
    line before the fence): its text is written to NAME in the page's
    directory, for the blocks after it (a task module, a command file).
  - Any block preceded by ``<!-- not run: WHY -->``: not run, WHY saying
    what makes it impossible here and what tests it instead (a ``pip
    install``, a systemd command). Use it sparingly.

  A block of any other kind (```ini, ```json, ```text, or python without
  ``>>> ``) with no directive before it fails the page: mark it. Code
  indented by four spaces is not seen by the harness: never use it.
- Each page starts afresh: an empty directory, no server, so job ids
  count from 1 (a server's default store is under that ``HOME``).
- The address ``127.0.0.1:877N`` (or ``localhost:877N``, or the pair
  ``('127.0.0.1', 877N)``) in a command, a doctest or a file stands for
  the page's server shown on port 877N (8770 unless ``--listen`` says
  otherwise): the harness puts the real port in before running, and the
  shown port back in the output.
  ``REMOTETASK_URL`` is the server on 8770, so ``remotetask add ...``
  needs no ``--url``. A shown port no server of the page has (a client's
  own listener, say) stands for a free port the harness picks.
- A page whose examples need the PostgreSQL at 127.0.0.1:5432 (its
  ``postgres`` role trusted) says ``<!-- needs: postgresql -->``; it is
  skipped where that is not reachable, unless
  ``REMOTETASK_REQUIRE_POSTGRESQL=1``; such pages run one at a time on a
  machine (they create roles and databases by the names they show, and
  drop them at their end). A doctest waits with a bound
  (``wait(id, 10)``, a socket's timeout): nothing stops a block that hangs.
- Blocks run in page order; a page is one test (one server, not one per
  block), and a failure names the page, the line and the server's log.
- Pages link to each other by relative paths; every docs/ page is
  linked from README.md.
"""

import contextlib
import doctest
import fcntl
import glob
import io
import os
import re
import shlex
import signal
import socket
import subprocess
import sys
import tempfile
import time

import pytest

from tests.acceptance.daemon import ROOT, waitUntil
from tests.acceptance.docblocks import (
    ADDRESS, blocks, consoleSteps, inOrder, matches)

PAGES = ['README.md'] + sorted(
    os.path.relpath(path, ROOT)
    for path in glob.glob(os.path.join(ROOT, 'docs', '*.md')))
#: Pages other branches bring; README links them before they arrive. The
#: lead takes each off this list when its branch is merged.
COMING = set()
LISTEN = re.compile(r'(--listen[= ](?:tcp|ssl):)(\d+)')


class Page:
    """One page being run: its directory, its servers, its names."""

    def __init__(self, path, directory):
        self.path = path
        self.directory = str(directory)
        self.servers = {}          # shown port -> (process, real port, log)
        self.names = {}            # the doctests' globals
        self.free = {}             # shown port -> a free port, no server
        os.symlink(os.path.dirname(os.path.dirname(sys.executable)),
                   os.path.join(self.directory, 'venv'))

    # Addresses: shown in the page, real on this machine.

    def real(self, text):
        def swap(match):
            return match.group(1) + self.port(match.group(2))
        return ADDRESS.sub(swap, text)

    def port(self, shown):
        """The real port of a shown one: its server's, else a free port
        kept for the page (for a client's own listener)."""
        server = self.servers.get(shown)
        if server and server[1]:
            return server[1]
        if shown not in self.free:
            with socket.socket() as probe:
                probe.bind(('127.0.0.1', 0))
                self.free[shown] = str(probe.getsockname()[1])
        return self.free[shown]

    def shown(self, text):
        real = {port: shown for shown, port in self.free.items()}
        real.update((server[1], shown)
                    for shown, server in self.servers.items())
        for port, shown in real.items():
            text = re.sub(rf'\b{port}\b', shown, text)
        return text

    def environ(self):
        env = {name: value for name, value in os.environ.items()
               if not name.startswith(('REMOTETASK_', 'XDG_'))}
        env.update(HOME=self.directory, TZ='UTC',
                   PATH=os.pathsep.join([os.path.dirname(sys.executable),
                                         env.get('PATH', '')]))
        if '8770' in self.servers:
            env['REMOTETASK_URL'] = \
                f'http://127.0.0.1:{self.servers["8770"][1]}/'
        return env

    def where(self, block):
        return f'{self.path}, line {block.line}'

    def logs(self):
        return '\n'.join(f'--- log of the server shown on {port} ({log}):\n'
                         + readLog(log)[-3000:]
                         for port, (_, _, log) in self.servers.items())

    # The kinds of block.

    def run(self, block):
        kind = block.kind
        assert kind != 'unmarked', (
            f'{self.where(block)}: a ```{block.language} block is neither '
            'run nor marked; see the convention in tests/acceptance/'
            'test_docs.py')
        if kind == 'file':
            target = os.path.join(self.directory, block.directive[1])
            os.makedirs(os.path.dirname(target), exist_ok=True)
            with open(target, 'w') as file:
                file.write(self.real(block.text))
        elif kind == 'console':
            for step in consoleSteps(block):
                self.console(block, step)
        elif kind == 'doctest':
            self.doctest(block)

    def console(self, block, step):
        if step.command == '^C':
            return self.stop(sig=signal.SIGINT)
        command = self.real(step.command)
        if isServe(command):
            return self.serve(block, step)
        done = subprocess.run(['bash', '-c', command], cwd=self.directory,
                              env=self.environ(), stdout=subprocess.PIPE,
                              stderr=subprocess.STDOUT, text=True,
                              timeout=120)
        shown = self.shown(done.stdout).splitlines()
        assert matches(step.expected, shown), (
            f'{self.where(block)}: $ {step.command}\nshown in the page:\n'
            + '\n'.join(step.expected) + '\nprinted (exit status '
            f'{done.returncode}):\n' + '\n'.join(shown) + '\n' + self.logs())

    def serve(self, block, step):
        match = LISTEN.search(step.command)
        port = match.group(2) if match else '8770'
        self.stop(port)
        command = self.real(step.command)
        if match:
            command = LISTEN.sub(r'\g<1>0', command, count=1)
        else:
            command += ' --listen tcp:0:interface=127.0.0.1'
        portfile = os.path.join(self.directory, f'.port-{port}')
        log = os.path.join(self.directory, f'.server-{port}.log')
        with open(log, 'w') as output:
            process = subprocess.Popen(
                ['bash', '-c', f'exec {command} --portfile {portfile}'],
                cwd=self.directory, env=self.environ(), stdout=output,
                stderr=subprocess.STDOUT, start_new_session=True,
                preexec_fn=interruptible)
        self.servers[port] = (process, None, log)
        deadline = time.monotonic() + 60
        while not os.path.exists(portfile) or not readLog(portfile):
            assert process.poll() is None and time.monotonic() < deadline, (
                f'{self.where(block)}: $ {step.command}: the server did '
                f'not start (exit status {process.poll()}):\n'
                + readLog(log)[-3000:])
            time.sleep(0.05)
        self.servers[port] = (process, readLog(portfile).strip(), log)

        def logged():
            return inOrder(step.expected,
                           self.shown(readLog(log)).splitlines())
        try:
            waitUntil(logged, timeout=15, message='the lines shown')
        except AssertionError:
            raise AssertionError(
                f'{self.where(block)}: $ {step.command}: the log lacks, in '
                'this order:\n' + '\n'.join(step.expected) + '\n'
                + self.logs()) from None

    def doctest(self, block):
        page = self

        class Checker(doctest.OutputChecker):
            def check_output(self, want, got, flags):
                return super().check_output(want, page.shown(got), flags)
        test = doctest.DocTestParser().get_doctest(
            self.real(block.text), self.names, self.where(block),
            self.path, block.line)
        report = io.StringIO()
        runner = doctest.DocTestRunner(
            checker=Checker(),
            optionflags=doctest.ELLIPSIS | doctest.NORMALIZE_WHITESPACE)
        here = os.getcwd()
        os.chdir(self.directory)
        try:
            result = runner.run(test, out=report.write, clear_globs=False)
        finally:
            os.chdir(here)
        self.names = test.globs   # a DocTest runs in a copy of them
        assert result.failed == 0, report.getvalue() + self.logs()

    def stop(self, port=None, sig=signal.SIGTERM):
        """Stop the page's servers (or the one shown on ``port``) with
        ``sig``, the rest of their group killed if they hang."""
        for shown in [port] if port else list(self.servers):
            if shown not in self.servers:
                continue
            process = self.servers.pop(shown)[0]
            process.send_signal(sig)
            try:
                process.wait(60)
            except subprocess.TimeoutExpired:
                os.killpg(process.pid, signal.SIGKILL)
                process.wait(10)


def interruptible():
    """Ctrl-C (SIGINT) stops the server, as in a terminal, even where
    the suite runs in the background with SIGINT ignored (a child would
    inherit that)."""
    signal.signal(signal.SIGINT, signal.SIG_DFL)


def isServe(command):
    """Whether the command starts a server to keep: ``remotetask serve``
    alone, with no shell around it (``; echo $?`` runs it in the
    foreground, to show a server that refuses to start)."""
    words = list(shlex.shlex(command, posix=True, punctuation_chars=True))
    return (words[0].endswith('remotetask') and words[1:2] == ['serve']
            and not any(set(word) <= set(';&|<>()') for word in words))


def needPostgreSQL():
    """Skip, saying why, where the page's PostgreSQL is not reachable
    (fail instead when it is required, as in CI)."""
    try:
        socket.create_connection(('127.0.0.1', 5432), timeout=5).close()
    except OSError as error:
        if os.environ.get('REMOTETASK_REQUIRE_POSTGRESQL') == '1':
            raise
        pytest.skip(f'no PostgreSQL at 127.0.0.1:5432 ({error})')


@contextlib.contextmanager
def oneAtATime():
    """Hold the machine's lock on its PostgreSQL's shared names: the
    pages create roles and databases by the names they show, so two runs
    of the suite at once would collide."""
    with open(os.path.join(tempfile.gettempdir(),
                           'remotetask-docs-postgresql.lock'), 'w') as file:
        fcntl.flock(file, fcntl.LOCK_EX)
        yield


def dropLeftovers(text):
    """Drop the databases and roles the page ``text`` creates, where a
    run of it stopped before its own DROP (a failure, a kill): else every
    later run on this machine, CI's included, fails at its CREATE."""
    import psycopg
    from psycopg import sql
    with psycopg.connect('postgresql://postgres@127.0.0.1:5432/postgres',
                         autocommit=True) as admin:
        for name in re.findall(r'CREATE DATABASE (\w+)', text):
            admin.execute(sql.SQL('DROP DATABASE IF EXISTS {} WITH (FORCE)')
                          .format(sql.Identifier(name)))
        for name in re.findall(r'CREATE ROLE (\w+)', text):
            admin.execute(sql.SQL('DROP ROLE IF EXISTS {}').format(
                sql.Identifier(name)))


def readLog(path):
    try:
        with open(path, errors='replace') as file:
            return file.read()
    except FileNotFoundError:
        return ''


def readPage(path):
    with open(os.path.join(ROOT, path), encoding='utf-8') as file:
        return file.read()


@pytest.mark.parametrize('path', PAGES)
def test_every_block_of_the_page_does_what_it_shows(path, tmp_path):
    """Each block of the page, run in order against a real server, prints
    what the page shows; a block that is neither run nor marked as not
    runnable fails the page."""
    text = readPage(path)
    shared = contextlib.nullcontext()
    if '<!-- needs: postgresql -->' in text:
        needPostgreSQL()
        shared = oneAtATime()
    page = Page(path, tmp_path)
    with shared:
        if '<!-- needs: postgresql -->' in text:
            dropLeftovers(text)
        try:
            for block in blocks(text):
                page.run(block)
        finally:
            page.stop()


def test_every_page_is_linked_from_the_readme_and_every_link_leads_somewhere():
    """README.md links every docs/ page, and each relative link of every
    page names a file of the checkout (or a page another branch brings,
    listed in COMING)."""
    readme = readPage('README.md')
    for path in PAGES[1:]:
        assert f']({path})' in readme, f'README.md does not link {path}'
    for path in PAGES:
        for target in re.findall(r'\]\(([^)#:]+)(?:#[^)]*)?\)',
                                 readPage(path)):
            resolved = os.path.normpath(
                os.path.join(os.path.dirname(path), target))
            assert os.path.exists(os.path.join(ROOT, resolved)) or \
                resolved in COMING, f'{path} links {target}: not found'


def test_the_readme_stays_a_ten_minute_read():
    """README.md is at most 250 lines (issue 23): reference belongs in a
    docs/ page, linked from it."""
    lines = readPage('README.md').splitlines()
    assert len(lines) <= 250, f'README.md has {len(lines)} lines'
