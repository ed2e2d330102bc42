"""The third argument of ``add``: the legacy ``startLater`` boolean, or a
struct of options.

``parseAddOptions(value)`` turns what a client sent into the keyword
arguments of ``TaskService.add``, refusing (``InvalidArgument``, fault 3)
what it cannot take, naming the member and why. Options known here:

- ``notify``: a URL (string) whose ``jobEnded(id, status)`` the server
  calls when the job ends; the service checks it against the operator's
  ``--notify-allow`` prefixes.
"""

from remotetask.errors import InvalidArgument

#: The members an options struct may have, and the type of each.
MEMBERS = {'notify': str}


def parseAddOptions(value):
    """The keyword arguments of ``TaskService.add`` for ``value``: a bool
    (``startLater``, as lovely.remotetask's clients send), None (no
    options) or a struct of ``MEMBERS``."""
    if value is None:
        return {}
    if type(value) is bool:
        return {'startLater': value}
    if not isinstance(value, dict):
        raise InvalidArgument(
            f'The options of add must be a boolean (startLater) or a '
            f'struct, not {type(value).__name__}.')
    unknown = sorted(set(value) - set(MEMBERS), key=str)
    if unknown:
        raise InvalidArgument(
            f'The options of add have unknown members: '
            f'{", ".join(map(str, unknown))} (known: '
            f'{", ".join(sorted(MEMBERS))}).')
    options = {}
    for name, kind in MEMBERS.items():
        if name in value:
            if type(value[name]) is not kind:
                raise InvalidArgument(
                    f'The option {name} must be a {kind.__name__}, not '
                    f'{type(value[name]).__name__}.')
            options[name] = value[name]
    return options
