"""The options of ``add()``, listed once.

Every way in to an add takes the same options: the Python API's keyword
arguments (``TaskService.add``, and the option dicts of ``addEach`` and
``addMany``), the options struct of XML-RPC's ``add`` and of the JSON
view's ``POST /api/jobs`` (``remotetask.wire.addoptions``), and the options
of ``remotetask add``. Each of those derives its list from ``ADD_OPTIONS``,
so that an option is added in one row here (and its keyword in
``TaskService.add``, its command-line option in ``remotetask add``, whose
help is written for a shell user).

The values themselves (a priority's range, a key's length) are checked by
the core (``remotetask.core.entries``, ``remotetask.core.workflows``), for
every way in alike; ``kinds`` are only the types a request may carry.
"""

import collections

#: One option: ``name`` as a request's struct carries it, ``keyword`` the
#: keyword argument of ``add()`` (they differ only where the name is a word
#: of Python), ``kinds`` the types a request may give it, and ``help`` what
#: it does (for ``system.methodHelp`` and docs/queues.md).
Option = collections.namedtuple('Option', 'name keyword kinds help')

#: ``add()``'s options besides the task and its input, in the order
#: ``addEach`` and ``addMany`` accept them.
ADD_OPTIONS = (
    Option('startLater', 'startLater', (bool,),
           'true: wait as "start later" until startJob'),
    Option('priority', 'priority', (int,),
           'from -100 to 100 (default 0); higher runs first'),
    Option('key', 'key', (str,),
           'while an unfinished job of the task has this key, add returns '
           "that job's id and adds nothing"),
    Option('delay', 'delay', (int, float),
           'seconds before the job may start'),
    Option('maxAttempts', 'maxAttempts', (int,),
           "how many times the job may start, instead of its task's "
           'maxAttempts'),
    Option('notify', 'notify', (str,),
           'a URL whose jobEnded(id, status) is called when the job ends '
           '(only under a prefix the operator allowed with --notify-allow)'),
    Option('after', 'after', (list,),
           "job ids: the job waits, 'waiting', until they have all ended"),
    Option('onFailure', 'onFailure', (str,),
           "with after: 'cancel' (default) cancels the job when one of "
           "them fails, 'run' runs it anyway"),
    Option('pass', 'passResults', (bool,),
           'with after: the input becomes {input, results: {id: result}}'),
)
