"""The code blocks of a Markdown page, as tests/acceptance/test_docs.py
runs them (its docstring states the convention a page follows).

Parsing only: which blocks a page has, what kind each is, and how a
shown output compares with a real one. Nothing here runs anything.
"""

import re
from dataclasses import dataclass, field

FENCE = re.compile(r'^```([\w+-]*)\s*$')
DIRECTIVE = re.compile(r'^<!--\s*(not run|file):\s*(.*?)\s*-->$')
#: A shown address the harness maps to a real one: 127.0.0.1 or
#: localhost, and a port from 8770 to 8779, as ``127.0.0.1:8770`` or as
#: a Python pair ``('127.0.0.1', 8779)``.
ADDRESS = re.compile(
    r'((?:127\.0\.0\.1|localhost)(?::|[\'"],\s*))(877\d)\b')


@dataclass
class Block:
    """One fenced block: its language, text, the line it starts on, and
    the directive written just before it (``('file', 'name.py')``,
    ``('not run', 'why')``), if any."""
    language: str
    text: str
    line: int
    directive: tuple = None

    @property
    def kind(self):
        """``'skip'``, ``'file'``, ``'console'``, ``'doctest'``, or
        ``'unmarked'``: a block that is none of these is a mistake."""
        if self.directive:
            return 'skip' if self.directive[0] == 'not run' else 'file'
        if self.language == 'console':
            return 'console'
        if self.language in ('python', 'pycon') and \
                re.search(r'^>>> ', self.text, re.M):
            return 'doctest'
        return 'unmarked'


def blocks(text):
    """Every fenced block of a page, in order."""
    found = []
    lines = text.splitlines()
    index = 0
    while index < len(lines):
        opening = FENCE.match(lines[index])
        if not opening:
            index += 1
            continue
        start = index
        index += 1
        body = []
        while index < len(lines) and lines[index].rstrip() != '```':
            body.append(lines[index])
            index += 1
        if index == len(lines):
            raise ValueError(f'line {start + 1}: the block is never closed')
        found.append(Block(opening.group(1), '\n'.join(body) + '\n',
                           start + 1, directiveBefore(lines, start)))
        index += 1
    return found


def directiveBefore(lines, index):
    """The directive on the last non-blank line before line ``index``."""
    for line in reversed(lines[:index]):
        if line.strip():
            match = DIRECTIVE.match(line.strip())
            if match and not match.group(2):
                raise ValueError(f'{line.strip()!r} names no file or reason')
            return match.groups() if match else None
    return None


@dataclass
class Step:
    """One ``$ command`` of a console block and the lines shown after it."""
    command: str
    expected: list = field(default_factory=list)


def consoleSteps(block):
    """The steps of a console block. A line ending in a backslash goes on
    on the next line, as in a shell; ``^C`` alone is a step of its own
    (the servers' Ctrl-C)."""
    steps = []
    lines = iter(block.text.splitlines())
    for line in lines:
        if line == '^C':
            steps.append(Step(line))
        elif line.startswith('$ '):
            command = line[2:]
            while command.endswith('\\'):
                command = command[:-1] + next(lines).strip()
            steps.append(Step(command))
        elif steps:
            steps[-1].expected.append(line)
        else:
            raise ValueError(f'line {block.line}: a console block starts '
                             'with a "$ " command')
    return steps


def timeless(lines):
    """``lines`` with clock readings made alike, as README's first run
    has always been compared: elapsed seconds (``0.0 s``), dates
    (``2026-11-29 22:24:07``); a job seen queued before it ran is as
    likely as not, so that line goes."""
    lines = [re.sub(r'\d{4}-\d\d-\d\d \d\d:\d\d:\d\d', 'DATE',
                    re.sub(r'\d+\.\d s\b', 'N s', line)).rstrip()
             for line in lines]
    return [line for line in lines if line.strip() != 'N s  queued']


def matches(expected, shown):
    """Whether the shown lines are the expected ones: the same number,
    each alike once timeless, where ``...`` in an expected line stands
    for any text."""
    expected, shown = timeless(expected), timeless(shown)
    while expected and not expected[-1]:
        expected.pop()
    while shown and not shown[-1]:
        shown.pop()
    return len(expected) == len(shown) and all(
        lineMatches(want, got) for want, got in zip(expected, shown))


def lineMatches(expected, shown):
    pattern = '.*'.join(map(re.escape, expected.split('...')))
    return re.fullmatch(pattern, shown) is not None


def inOrder(expected, shown):
    """Whether each expected line matches a shown line, in order (a log
    has lines of its own between them)."""
    shown = iter(timeless(shown))
    return all(any(lineMatches(want, got) for got in shown)
               for want in timeless(expected) if want)
