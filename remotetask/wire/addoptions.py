"""The options of an add, as a request carries them.

``add(task, input, options)`` over XML-RPC (and ``addAndWait``, the adds of
a ``system.multicall``, ``POST /api/jobs``) takes as ``options`` either the
legacy ``startLater`` boolean or a struct whose members are those of
``MEMBERS``. ``parseAddOptions`` turns either into the keyword arguments
of ``TaskService.add``, refusing (fault 3) a member it does not know or
one of the wrong type; the values themselves (a priority's range, a key's
length) are checked by the service, for the Python API alike.

To add an option: one row in ``MEMBERS``, and the keyword in
``TaskService.add``.
"""

import collections

from remotetask.errors import InvalidArgument
from remotetask.wire.checks import need

Member = collections.namedtuple('Member', 'kinds help')

#: The members of the options struct: the types each may have, and what
#: it does (for ``system.methodHelp`` and docs/queues.md).
MEMBERS = {
    'startLater': Member(
        (bool,), 'true: wait as "start later" until startJob'),
    'priority': Member(
        (int,), 'from -100 to 100 (default 0); higher runs first'),
    'key': Member(
        (str,), 'while an unfinished job of the task has this key, add '
                "returns that job's id and adds nothing"),
    'delay': Member(
        (int, float), 'seconds before the job may start'),
    'maxAttempts': Member(
        (int,), "how many times the job may start, instead of its task's "
                'maxAttempts'),
    'notify': Member(
        (str,), 'a URL whose jobEnded(id, status) is called when the job '
                'ends (only under a prefix the operator allowed with '
                '--notify-allow)'),
}


def describeMembers():
    """One line per member, for help texts."""
    return '\n'.join(f'  {name}: {member.help}'
                     for name, member in MEMBERS.items())


def parseAddOptions(value):
    """The keyword arguments of ``TaskService.add`` that ``value`` (a
    boolean, or a struct of ``MEMBERS``) asks for; ``InvalidArgument``
    naming what is wrong."""
    if type(value) is bool:
        return dict(startLater=value)
    if not isinstance(value, dict):
        need('startLater (or a struct of options)', value, bool, dict)
    unknown = sorted(set(value) - set(MEMBERS), key=str)
    if unknown:
        raise InvalidArgument(
            f'options has unknown members: {", ".join(map(repr, unknown))} '
            f'(known: {", ".join(MEMBERS)}).')
    for name, given in value.items():
        need(f'options.{name}', given, *MEMBERS[name].kinds)
    return dict(value)
