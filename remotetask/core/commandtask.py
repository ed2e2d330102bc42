"""Tasks that run an external program, declared without writing Python.

A command file is INI text, one section per task::

    [convert-video]
    description = Scale a video to 640 pixels wide
    argv = ffmpeg -nostdin -y -i {source} -vf scale=640:-2 {target}
    timeout = 600

``argv`` is split like a shell would split it (``shlex``), once, when the
file is read; then each word's ``{name}`` fields are filled from the job's
input, a struct. The program is run directly, never through a shell, so a
value can never become a second command, whatever it contains. Only plain
``{name}`` fields are allowed: no attribute or index lookups.

Nor can a value become an option: a value that would put a ``-`` at the
start of a word (``{file}`` filled with ``-oOWNED`` or ``--version``) is
refused, and the job ends in error saying so. Two ways let one through,
both written in the template by whoever declares the task: ``{-name}``
(a dash inside the braces) marks a field whose value may start with a
dash, e.g. a negative number; and a word ``--`` ends the options, so that
fields in the words after it may start with one (for programs that honour
``--``, as most do). A field inside a word that starts with text of its
own (``--output={file}``) cannot start the word, and is not restricted.

A plain field takes any text, a path too: in ``cat /srv/data/{file}``
the value ``../../../etc/passwd`` reads ``/etc/passwd``. A field written
``{file:name}`` takes one file name only: a value holding ``/``, or
``.`` or ``..``, is refused, and the job ends in error saying so.

``max_output`` (bytes, with K, M or G; 16M by default) bounds what the
program may write, stdout and stderr together (``remotetask.core.
programs``).
"""

import configparser
import shlex
import string

from zope.interface import implementer

from remotetask.core.interfaces import ITask
from remotetask.core.programs import MAX_OUTPUT, parseSize, runProgram
from remotetask.core.task import TaskError

_FORMATTER = string.Formatter()
_TAIL = 2000


def _pieces(word):
    """The word as ``[(text, name, mayStartWithDash, isName)]``: its
    literal text and the field that follows it (None at the end)."""
    pieces = []
    for text, name, spec, conversion in _FORMATTER.parse(word):
        mayDash = name is not None and name.startswith('-')
        if mayDash:
            name = name[1:]
        isName = spec == 'name'
        if name is not None and (not name.isidentifier() or conversion or
                                 spec and not isName):
            raise ValueError(f'{word!r}: only plain {{name}} fields (or '
                             '{-name}, {name:name}) are allowed in argv')
        pieces.append((text, name, mayDash, isName))
    return pieces


def _confine(name, value):
    """``TaskError`` unless ``value`` is one file name, never a path: no
    ``/``, not ``.`` nor ``..``, not empty, no NUL."""
    if '/' in value or value in ('', '.', '..') or '\0' in value:
        raise TaskError(
            f'{name} ({value[:40]!r}) must be a file name, without "/" and '
            'other than "." and ".." (the task takes {' + name + ':name}).')


@implementer(ITask)
class CommandTask:
    """Run ``argv`` with fields filled from the input; return its output.

    The result is ``{'returncode': 0, 'stdout': ..., 'stderr': ...}``; a
    non-zero exit ends the job in error with the end of its stderr.
    """

    def __init__(self, argv, timeout=None, description='',
                 maxOutput=MAX_OUTPUT):
        self.argv = list(argv)
        if not self.argv:
            raise ValueError('argv is empty')
        self.words = [_pieces(word) for word in self.argv]
        self.fields = {name for pieces in self.words
                       for _, name, _, _ in pieces if name is not None}
        # The words after a literal '--' are operands, never options.
        self.operandsFrom = (self.argv.index('--') + 1 if '--' in self.argv
                             else len(self.argv))
        self.programTimeout = timeout
        self.maxOutput = maxOutput
        # The worker pool's own limit comes a little later, so that the
        # program is stopped here (and its process reaped) rather than
        # orphaned by the pool killing the worker around it.
        self.timeout = None if timeout is None else timeout + 5
        self.description = description or f'Runs {self.argv[0]}'

    def __repr__(self):
        return f'<{type(self).__name__} {shlex.join(self.argv)!r}>'

    def _argv(self, input):
        if input is None and not self.fields:
            input = {}
        if not isinstance(input, dict):
            raise TaskError(f'The input must be a struct with the fields '
                            f'{", ".join(sorted(self.fields))}.')
        missing = self.fields - set(input)
        if missing:
            raise TaskError(f'The input lacks {", ".join(sorted(missing))}.')
        for name in self.fields:
            if type(input[name]) not in (str, int, float):
                raise TaskError(f'{name} must be a string or a number.')
        return [self._fill(index, pieces, input)
                for index, pieces in enumerate(self.words)]

    def _fill(self, index, pieces, input):
        """Word ``index`` with its fields filled; ``TaskError`` if a value
        would start it with a dash where the template does not allow it."""
        words = []
        for text, name, mayDash, isName in pieces:
            words.append(text)
            if name is None:
                continue
            value = str(input[name])
            if isName:
                _confine(name, value)
            if (not ''.join(words) and value.startswith('-') and not
                    mayDash and index < self.operandsFrom):
                raise TaskError(
                    f'{name} ({value[:40]!r}) starts with "-", which '
                    f'{self.argv[0]} could take as an option; such values '
                    'are refused unless the task allows them ({-'
                    f'{name}}} or -- in its argv).')
            words.append(value)
        return ''.join(words)

    def __call__(self, service, jobid, input):
        argv = self._argv(input)
        done = runProgram(argv, self.programTimeout, self.maxOutput)
        if done.returncode != 0:
            raise TaskError(f'{argv[0]} exited with status '
                            f'{done.returncode}: {done.stderr[-_TAIL:]}')
        return dict(returncode=done.returncode, stdout=done.stdout,
                    stderr=done.stderr)


def loadCommands(filename):
    """Read a command file; return ``{name: CommandTask}``.

    A mistake in the file is a ValueError naming the file and section,
    in one sentence.
    """
    parser = configparser.ConfigParser(interpolation=None)
    try:
        with open(filename, encoding='utf-8') as file:
            parser.read_file(file)
    except configparser.Error as error:
        # Their messages span lines (file, line, text): keep the first.
        reason = str(error).splitlines()[0].rstrip('.')
        raise ValueError(f'{filename}: {reason}; each task is a [name] '
                         'section with an argv = ... line') from None
    return {name: _commandTask(filename, name, parser[name])
            for name in parser.sections()}


#: The keys a section may have; any other is a mistake (``timout``) that
#: would otherwise go unnoticed.
KEYS = ('argv', 'description', 'timeout', 'max_output')


def _commandTask(filename, name, section):
    """The CommandTask a section declares; a ValueError naming the file,
    the section and what is wrong."""
    unknown = sorted(set(section) - set(KEYS))
    if unknown:
        raise ValueError(
            f'{filename} [{name}]: unknown key{"s" * (len(unknown) > 1)} '
            f'{", ".join(unknown)}; a section has only '
            f'{", ".join(KEYS)}')
    if not section.get('argv', '').strip():
        raise ValueError(
            f'{filename} [{name}]: the section has no argv line; give '
            'the program and its arguments, e.g. argv = convert '
            '{source} {target}')
    timeout = section.get('timeout')
    if timeout is not None:
        try:
            timeout = float(timeout)
        except ValueError:
            timeout = -1
        if not 0 < timeout < float('inf'):
            raise ValueError(
                f'{filename} [{name}]: timeout = {section["timeout"]} is '
                'not a number of seconds above 0 (e.g. timeout = 600)')
    try:
        return CommandTask(shlex.split(section['argv']), timeout=timeout,
                           description=section.get('description', ''),
                           maxOutput=parseSize(section.get(
                               'max_output', str(MAX_OUTPUT))))
    except ValueError as error:
        raise ValueError(f'{filename} [{name}]: {error}') from None
