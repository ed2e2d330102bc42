"""Who may do what: every authorisation decision of the server, in one
place, for the XML-RPC and JSON faces alike (issue 22).

A request made with credentials (``--users``, or an API token) comes with
a ``Principal``: its name and its role. Without ``--users`` there is
none (None here), and everything is allowed, as before.

* ``admin`` may do everything (what every user of a users file without a
  roles file is).
* ``caller`` may add jobs of its ``tasks`` (``*``: any), and read, wait
  for, start and cancel its own jobs. Another's job, and a job added
  before owners were recorded, does not exist for it: it gets the very
  answer an unknown id gets (``NoSuchJob``, fault 2), so that existence
  does not leak. It may not add or change cron jobs, nor clean.
* ``viewer`` may read everything and change nothing.

A refused action raises ``NotPermitted`` (fault 13): "not allowed:
<what>, for <user>". What a caller may see is given by ``scoped``, a
view of the service's reads that holds only its own jobs; the wire reads
through that view, never through the reads themselves, so that no read can
forget the rule.
"""

from remotetask.core.status import Status
from remotetask.errors import NoSuchJob, NotPermitted

ADMIN, CALLER, VIEWER = 'admin', 'caller', 'viewer'
ROLES = (ADMIN, CALLER, VIEWER)
#: In a caller's tasks: every task.
ANY_TASK = '*'


class Principal:
    """Who makes a request: ``name`` (a user of the users file, or an API
    token's name), ``role`` (one of ``ROLES``) and, for a caller, the
    ``tasks`` it may add."""

    __slots__ = ('name', 'role', 'tasks')

    def __init__(self, name, role, tasks=()):
        if role not in ROLES:
            raise ValueError(f'the role {role!r} is not one of '
                             f'{", ".join(ROLES)}')
        self.name = name
        self.role = role
        self.tasks = frozenset(tasks)

    def __repr__(self):
        return f'<Principal {self.name!r} {self.role}>'

    def __eq__(self, other):
        return isinstance(other, Principal) and (
            self.name, self.role, self.tasks) == (
            other.name, other.role, other.tasks)

    def __hash__(self):
        return hash((self.name, self.role, self.tasks))

    def mayAdd(self, task):
        return self.role == ADMIN or (self.role == CALLER and (
            ANY_TASK in self.tasks or task in self.tasks))


def ownerOf(principal):
    """The owner recorded on the jobs ``principal`` adds (None: no one)."""
    return None if principal is None else principal.name


def byOf(principal):
    """Who changed a job, for its events (None: an open server)."""
    return ownerOf(principal)


def seesAll(principal):
    return principal is None or principal.role != CALLER


def checkAdd(principal, task):
    """Refuse an add of ``task`` that ``principal`` may not make."""
    if principal is not None and not principal.mayAdd(task):
        raise NotPermitted.doing(f'adding a job of the task {task!r}',
                                 principal.name)


def checkChange(principal, what):
    """Refuse a change (``what``, in words) to a job by a viewer; a
    caller's own jobs are found through ``scoped``."""
    if principal is not None and principal.role == VIEWER:
        raise NotPermitted.doing(what, principal.name)


def checkAdmin(principal, what):
    """Refuse what only an admin may do (cron jobs, cleaning, tokens)."""
    if principal is not None and principal.role != ADMIN:
        raise NotPermitted.doing(what, principal.name)


def mayAddTasks(principal, names):
    """Of the task ``names``, those ``principal`` may add, for the lists
    of tasks shown to it (a viewer sees them all, and adds none)."""
    if principal is None or principal.role != CALLER:
        return names
    return [name for name in names if principal.mayAdd(name)]


def scoped(reads, principal):
    """What ``principal`` may read of ``reads`` (a service's
    ``JobReads``): all of it for whoever sees every job, else a
    ``CallerView`` of its own jobs."""
    if seesAll(principal):
        return reads
    return CallerView(reads, principal.name)


class CallerView:
    """The reads of a ``JobReads`` restricted to the jobs of ``owner``:
    another's job raises ``NoSuchJob`` exactly as an unknown id does, and
    listings hold the owner's jobs alone. Reads that show no job (servers,
    counts, the time zone) pass through; nothing else is there, so that a
    read added later fails loudly rather than leaks."""

    PASSED = frozenset((
        'timezone', 'servers', 'minutes', 'counts', 'oldestQueued'))

    def __init__(self, reads, owner):
        self.reads = reads
        self.owner = owner

    def __getattr__(self, name):
        if name in self.PASSED:
            return getattr(self.reads, name)
        raise AttributeError(name)

    def getRow(self, jobid):
        row = self.reads.getRow(jobid)
        if row.get('addedby') != self.owner:
            raise NoSuchJob.withId(jobid)
        return row

    def getStatus(self, jobid):
        return Status(self.getRow(jobid)['status'])

    def getDependencies(self, jobid):
        self.getRow(jobid)
        return self.reads.getDependencies(jobid)

    def findRows(self, status=None, task=None, after=0, limit=100):
        return self.reads.findRows(status=status, task=task, after=after,
                                   limit=limit, owner=self.owner)

    def newest(self, status=None, task=None, text=None, before=None,
               limit=50, scan=10000):
        return self.reads.newest(status=status, task=task, text=text,
                                 before=before, limit=limit, scan=scan,
                                 owner=self.owner)


def hiddenWaits(reads, principal, ids):
    """The ids among ``ids`` (the jobs an add would wait for, its
    ``after``) that ``principal`` may not see, in order: a caller's job
    may wait for the caller's own jobs alone, or waiting (and, with
    ``pass``, the results it is given) would reveal another's job."""
    if seesAll(principal):
        return []
    view, hidden = scoped(reads, principal), []
    for jobid in sorted(set(ids)):
        try:
            view.getRow(jobid)
        except NoSuchJob:
            hidden.append(jobid)
    return hidden


def waitedFor(keywordsList):
    """The job ids the ``after`` of each add's keywords names."""
    return [jobid for keywords in keywordsList
            for jobid in keywords.get('after') or ()]


def refuseHiddenWaits(reads, principal, ids):
    """``NoSuchJob``, as for an unknown id, for the first of ``ids`` that
    ``principal`` may not see (``hiddenWaits``)."""
    hidden = hiddenWaits(reads, principal, ids)
    if hidden:
        raise NoSuchJob.withId(hidden[0])


def whoIs(principal):
    """What the dashboard shows of its user (``GET /api/me``): its name
    and role, and whether (and why not) its buttons work."""
    if principal is None:
        return dict(user=None, role=None, tasks=None, mayAdd=True,
                    mayChange=True, why=None)
    viewer = principal.role == VIEWER
    mayAdd = principal.role == ADMIN or bool(
        principal.role == CALLER and principal.tasks)
    why = None
    if viewer:
        why = (f'{principal.name} is a viewer: it may read everything and '
               'change nothing.')
    elif not mayAdd:
        why = f'{principal.name} may add no task.'
    return dict(user=principal.name, role=principal.role,
                tasks=sorted(principal.tasks)
                if principal.role == CALLER else None,
                mayAdd=mayAdd, mayChange=not viewer, why=why)
