"""Jobs that wait for other jobs: adds with ``after``, chains and groups.

``add(task, input, after=[ids], onFailure='cancel', passResults=False)``
adds a job that waits, ``waiting``, until every job of ``after`` has
ended; the store releases it in the transaction of the last end
(``remotetask.store.waiting``). ``addChain`` and ``addGroup`` add the
usual shapes in one transaction. What is checked here, before anything
is written, so that a refused add stores nothing:

- every id of ``after`` names a job (``NoSuchJob``), one that will end:
  not a cron job, and, if unfinished, of a task some server alive serves
  (``InvalidArgument``): a job that waited for it would wait for ever;
- at most ``maxAfter`` dependencies per job, ``maxSteps`` steps per
  chain or group (the service's attributes, the daemon's ``--max-after``
  and ``--max-steps``).

A cycle cannot be made: a job may only wait for jobs that exist already.
"""

import collections

from remotetask.core.entries import newEntry, plainEntry, requestOptions
from remotetask.core.status import FINISHED, UNFINISHED, WAITING
from remotetask.errors import InvalidArgument, NoSuchJob, RemoteTaskError

#: What a dependent does when one of its dependencies fails.
CANCEL, RUN = 'cancel', 'run'

#: A job that waits: its dependencies (existing job ids), its failure
#: policy, and whether their results are joined to its input. Defined
#: here, where adds are planned, and kept by every store.
Wait = collections.namedtuple('Wait', 'after onFailure passResults')

#: The defaults of ``--max-after`` and ``--max-steps``.
MAX_AFTER = 1000
MAX_STEPS = 1000

#: The keyword arguments of ``add()`` that make a job wait.
WAIT_OPTIONS = ('after', 'onFailure', 'passResults')

#: The options of an add that asks for nothing: none, or not startLater.
_PLAIN = ({}, {'startLater': False})
#: The same as a request may give them, before ``requestOptions``.
_PLAIN_GIVEN = _PLAIN + (False,)

#: One job to add: its ``Entry``, its ``Wait`` on existing jobs (or
#: None), and the positions of the earlier jobs of the same batch it
#: waits for too.
Planned = collections.namedtuple('Planned', 'entry wait steps')
_makeTuple = tuple.__new__


def checkWait(after=None, onFailure=None, passResults=None, steps=(),
              maxAfter=MAX_AFTER):
    """The ``Wait`` that ``add()``'s options ask for, or None without
    ``after`` (nor ``steps``, earlier jobs of a chain or group)."""
    if after is None and not steps:
        if onFailure is not None or passResults is not None:
            raise InvalidArgument('onFailure and pass apply to a job added '
                                  'with after; give after too.')
        return None
    after = [] if after is None else after
    if not isinstance(after, (list, tuple)) or not all(
            type(i) is int for i in after):
        raise InvalidArgument(
            f'after must be a list of job ids, not {after!r:.60}.')
    if len(set(after)) + len(steps) > maxAfter:
        raise InvalidArgument(
            f'A job may wait for at most {maxAfter} jobs (see --max-after),'
            f' not {len(set(after)) + len(steps)}.')
    onFailure = CANCEL if onFailure is None else onFailure
    if onFailure not in (CANCEL, RUN):
        raise InvalidArgument(
            f"onFailure must be 'cancel' or 'run', not {onFailure!r:.40}.")
    if passResults is not None and type(passResults) is not bool:
        raise InvalidArgument(
            f'pass must be true or false, not {passResults!r:.40}.')
    return Wait(tuple(sorted(set(after))), onFailure, bool(passResults))


def plan(request, now, steps=(), passDefault=None, maxAfter=MAX_AFTER,
         owner=None):
    """The ``Planned`` of one request as ``addMany`` takes them (see
    ``requestOptions``), waiting for ``steps`` of its batch too, with
    ``pass`` by default when ``passDefault``, added by ``owner``."""
    if not steps and request.__class__ is tuple and len(request) == 3 \
            and request[2] in _PLAIN_GIVEN:
        # A multicall's add as the wire passes it: nothing to read, and
        # its Planned made as ``Planned._make`` makes it, without the
        # named tuple's ``__new__`` (a Python call per add).
        return request[0], _makeTuple(Planned, (
            plainEntry(request[0], request[1], owner), None, ()))
    task, input, options = requestOptions(stepRequest(request))
    if not steps and options in _PLAIN:
        return task, Planned(plainEntry(task, input, owner), None, ())
    waits = {name: options.pop(name) for name in WAIT_OPTIONS
             if name in options}
    if steps and waits.get('passResults') is None:
        waits['passResults'] = passDefault
    wait = checkWait(steps=steps, maxAfter=maxAfter, **waits)
    if wait is not None and (options.get('startLater') or
                             options.get('delay') or
                             options.get('key') is not None):
        raise InvalidArgument('A job added with after may not have '
                              'startLater, delay or key.')
    entry = newEntry(task, input, now, owner=owner, **options)
    if wait is not None:
        entry = entry._replace(status=WAITING)
    return task, Planned(entry, wait, tuple(steps))


def checkStates(states, wait, served):
    """Refuse ``wait`` unless each of its jobs (``states``: ``{id: row}``
    as ``IJobStore.dependencyStates`` reads them) will end; ``served`` is
    a function telling whether a task is served."""
    for jobid in wait.after:
        row = states.get(jobid)
        if row is None:
            raise NoSuchJob(f'after: there is no job with id {jobid} (it '
                            'may have been cleaned up).')
        if row['status'] not in FINISHED and row['status'] not in \
                UNFINISHED:
            raise InvalidArgument(
                f'after: job {jobid} is a {row["status"]} job, which never '
                'ends; a job cannot wait for it.')
        if row['status'] not in FINISHED and not served(row['task']):
            raise InvalidArgument(
                f'after: job {jobid} is of task {row["task"]!r}, which no '
                'server alive serves (it would never end); a job cannot '
                'wait for it.')


def storePlanned(store, isServed, planned, now, event, refused=None):
    """Add the ``planned`` jobs to ``store`` in one transaction; their
    ids. ``isServed(task)``: whether some server alive serves ``task``.
    With ``refused`` (a dict), a job whose dependencies are refused is
    left out, its position mapped to the error, instead of refusing
    all."""
    ids, plain = {}, []
    with store.transaction():
        wanted = sorted({i for item in planned if item.wait is not None
                         for i in item.wait.after})
        states = store.dependencyStates(wanted) if wanted else {}
        for index, item in enumerate(planned):
            try:
                if item.wait is not None:
                    checkStates(states, item.wait, isServed)
            except RemoteTaskError as error:
                if refused is None:
                    raise
                refused[index] = error
        for index, item in enumerate(planned):
            if refused is not None and index in refused:
                continue
            if item.wait is None:
                plain.append(index)
                continue
            _addPlain(store, planned, plain, ids, now, event)
            ids[index] = store.addMany([item.entry], now, event)[0]
            store.wait(ids[index], list(item.wait.after) +
                       [ids[step] for step in item.steps],
                       item.wait.onFailure, item.wait.passResults, now)
        _addPlain(store, planned, plain, ids, now, event)
    return [ids.get(index) for index in range(len(planned))]


def _addPlain(store, planned, plain, ids, now, event):
    """Add the jobs without a wait gathered in ``plain``, in one batch."""
    if plain:
        for index, jobid in zip(plain, store.addMany(
                [planned[index].entry for index in plain], now, event)):
            ids[index] = jobid
        del plain[:]


def chainPlan(steps, now, maxSteps, maxAfter, owner=None):
    """The ``Planned`` jobs of a chain: each step waits for the one before
    it, with pass (unless its options say otherwise)."""
    _checkSteps(steps, maxSteps, 'A chain')
    return [plan(step, now, (index - 1,) if index else (), True, maxAfter,
                 owner) for index, step in enumerate(steps)]


def groupPlan(steps, then, now, maxSteps, maxAfter, owner=None):
    """The ``Planned`` jobs of a group, and of its fan-in ``then`` (which
    waits for every step, with pass unless its options say otherwise)."""
    _checkSteps(steps, maxSteps, 'A group')
    planned = [plan(step, now, maxAfter=maxAfter, owner=owner)
               for step in steps]
    if then is not None:
        planned.append(plan(then, now, tuple(range(len(steps))), True,
                            maxAfter, owner))
    return planned


def _checkSteps(steps, maxSteps, what):
    if not isinstance(steps, (list, tuple)) or not steps:
        raise InvalidArgument(f'{what} needs a list of steps, each [task, '
                              'input] or [task, input, options].')
    if len(steps) > maxSteps:
        raise InvalidArgument(
            f'{what} may have at most {maxSteps} steps (see --max-steps), '
            f'not {len(steps)}.')


def stepRequest(step):
    """A step as ``requestOptions`` takes it: ``[task, input, options]``
    or ``{task, input, options}``."""
    if isinstance(step, dict):
        unknown = set(step) - {'task', 'input', 'options'}
        if unknown or 'task' not in step:
            raise InvalidArgument(
                'A step is {task, input, options} or [task, input, '
                f'options], not {step!r:.60}.')
        return (step['task'], step.get('input'), step.get('options') or {})
    return step

