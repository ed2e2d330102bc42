"""The options of an add, as a request carries them.

``add(task, input, options)`` over XML-RPC (and ``addAndWait``, the adds of
a ``system.multicall``, ``POST /api/jobs``) takes as ``options`` either the
legacy ``startLater`` boolean or a struct whose members are those of
``MEMBERS``. ``parseAddOptions`` turns either into the keyword arguments
of ``TaskService.add``, refusing (fault 3) a member it does not know or
one of the wrong type; the values themselves (a priority's range, a key's
length) are checked by the service, for the Python API alike.

The members are ``remotetask.core.addoptions.ADD_OPTIONS``, where an
option is added.
"""

from remotetask.core.addoptions import ADD_OPTIONS
from remotetask.errors import InvalidArgument
from remotetask.wire.checks import need
from remotetask.wire.carried import checkInput

#: The members of the options struct, by name (``Option``s: the types
#: each may have, its keyword, and what it does).
MEMBERS = {option.name: option for option in ADD_OPTIONS}


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
    return {MEMBERS[name].keyword: given for name, given in value.items()}


def parseStep(step, checked=False):
    """``(task, input, keywords)`` of one step of a chain or group:
    ``[task, input]``, ``[task, input, options]`` or a struct ``{task,
    input, options}``, its options as ``add`` takes them (and its input
    checked unless ``checked``)."""
    if isinstance(step, dict):
        unknown = sorted(set(step) - {'task', 'input', 'options'}, key=str)
        if unknown:
            raise InvalidArgument(
                f'A step has unknown members: {", ".join(map(repr, unknown))}'
                ' (known: task, input, options).')
        step = [step.get('task'), step.get('input'), step.get('options', {})]
    if not isinstance(step, list) or not 1 <= len(step) <= 3:
        raise InvalidArgument(
            'Each step is [task, input], [task, input, options] or a struct '
            f'{{task, input, options}}, not {step!r:.60}.')
    task, input, options = (step + [None, {}])[:3] if len(step) > 1 \
        else (step[0], None, {})
    need('The task name of a step', task, str)
    keywords = parseAddOptions({} if options is None else options)
    if not checked:
        checkInput(input)
    return task, input, keywords


def parseSteps(steps, most, checked=False):
    """The steps of ``addChain`` or ``addGroup`` (at most ``most``, counted
    before any is read), each as ``parseStep`` gives it."""
    need('steps', steps, list)
    if not 1 <= len(steps) <= most:
        raise InvalidArgument(
            f'steps must hold 1 to {most} steps (see --max-steps), not '
            f'{len(steps)}.')
    return [parseStep(step, checked) for step in steps]
