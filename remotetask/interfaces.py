"""The interfaces of remotetask, named as in z3c.taskqueue.

Legacy code imports the status constants from here too, as it did from
``z3c.taskqueue.interfaces``.
"""

from zope.interface import Attribute, Interface

from remotetask.core.status import (  # noqa: F401  (legacy import location)
    CANCELLED, COMPLETED, CRONJOB, DELAYED, ERROR, PROCESSING, QUEUED,
    STARTLATER)


class ITask(Interface):
    """A task: something the server knows how to run, by name."""

    def __call__(service, jobid, input):
        """Run the task for job ``jobid`` with ``input``; return its output.

        Raise ``remotetask.TaskError`` to end the job in ``error`` with a
        message meant for the client.
        """


class IJob(Interface):
    """A job: one request to run a task, and what came of it."""

    id = Attribute('The job id, an int unique within its store.')
    task = Attribute('The name of the task to run.')
    status = Attribute('A remotetask.Status (equal to its legacy string).')
    input = Attribute('The input given to the task.')
    output = Attribute('What the task returned (the last run for cron).')
    error = Attribute('The error message, or None.')
    traceback = Attribute('The traceback of an unexpected error, or None.')
    created = Attribute('When the job was added (naive local datetime).')
    started = Attribute('When the job (last) started, or None.')
    completed = Attribute('When the job (last) ended, or None.')
    attempts = Attribute('How many times the job was started.')
    priority = Attribute('Its priority: jobs with a higher one run first.')
    key = Attribute('Its unique key among the unfinished jobs of its task, '
                    'or None.')
    maxAttempts = Attribute("How many times it may start, or None for its "
                            "task's maxAttempts.")
    server = Attribute('The server that last started a run of it, or None.')
    progress = Attribute('The latest progress report, a dict {fraction, '
                         'message, at}, or None.')
    events = Attribute('What happened to the job, oldest first: dicts '
                       '{at, event, server, ...details}.')
    notify = Attribute('The URL told when the job ends, or None.')


class ICronJob(IJob):
    """A job that runs again on a schedule, or once after a delay."""

    minute = Attribute('Minutes (0-59) to run at; () for any.')
    hour = Attribute('Hours (0-23) to run at; () for any.')
    dayOfMonth = Attribute('Days of the month (1-31); () for any.')
    month = Attribute('Months (1-12); () for any.')
    dayOfWeek = Attribute('Days of the week, 0 = Monday; () for any.')
    crontab = Attribute('The crontab text the schedule came from, or None.')
    delay = Attribute('Seconds to wait before a single run, or None.')
    scheduledFor = Attribute('When it runs next (datetime), or None.')

    def update(minute=(), hour=(), dayOfMonth=(), month=(), dayOfWeek=(),
               delay=None):
        """Change the schedule; call the service's reschedule() after."""

    def timeOfNextCall(now=None):
        """Epoch seconds (int) of the next run strictly after ``now``."""


class ITaskRegistry(Interface):
    """Where a service finds its tasks by name."""

    def register(name, task):
        """Make ``task`` (an ITask) available as ``name``."""

    def unregister(name):
        """Forget the task registered in Python as ``name``."""

    def lookup(name):
        """Return the task called ``name``; ``NoSuchTask`` if none."""

    def getAvailableTasks():
        """Return a dict name -> task of every task that can be run."""


class IJobStore(Interface):
    """Where jobs live. The contract every store keeps.

    Values: inputs, outputs and schedules arrive already encoded as text
    (``remotetask.core.codec``); the store keeps the text as it is. Rows are
    returned as dicts with the keys ``id, task, status, input, output,
    error, traceback, created, started, completed, schedule, due, attempts,
    token, history, missed, claimed, priority, key, maxattempts, server,
    progress, events, notify``; times are epoch seconds (float) or None;
    ``history`` is None or a JSON array of the failed attempts; ``missed``
    counts a cron job's due times that passed without a run; ``claimed`` is
    when the current claim was made; ``priority`` orders claims (higher
    first); ``key`` is the job's unique key or None; ``maxattempts`` its own
    number of attempts, None for its task's; ``server`` the ``serverId`` of
    the store that last started a run of it (None for a store without
    one), kept after the run; ``progress`` is None or the latest progress
    report (JSON text); ``notify`` the URL to tell when the job ends, or
    None.

    Unique keys: while a job of a task with a key is unfinished (``queued``,
    ``processing`` or ``start later``), adding another job of that task
    with that key adds nothing and returns the first one's id, atomically
    however many threads, processes or servers add at once, within a
    batch too.

    Events: ``events`` is None or a JSON array of the job's events, oldest
    first (``remotetask.core.events``). A method that takes ``event`` (JSON
    text, or None for none) appends it to each job it changes, in the same
    statement as the change, keeping at most ``maxEvents`` (an attribute):
    the first, and the latest. A "started" event gets ``attempt``, the
    number of the attempt that begins, added by the store.

    Completion calls: a job with ``notify`` that ends (``finish`` to
    completed or error, ``transition`` to cancelled) owes a call, recorded
    in the same transaction as the end, due at once; ``claimNotifications``
    hands each due call to one caller at a time, and ``recordNotification``
    says how it went. A call owed goes with its job.

    Counters: ``countRuns`` and ``sampleQueue`` keep, per minute and server,
    how many runs ended well and badly and how deep the queue was, for a
    chart read with ``minutes`` (summed over the servers).

    Durability: when a method that writes returns, the write is committed
    and survives the death of the process (``kill -9``). A method that
    raises has written nothing.

    Transactions: ``transaction()`` groups writes. Every method called on
    the same thread inside it joins it, so that one commit (one ``fsync``,
    one round trip) covers them all; the outermost one commits when it
    ends and rolls everything back if it raises. Durability then holds
    when the outermost one has ended. A method that refuses (a
    ``RemoteTaskError`` other than ``StoreUnavailable``) does so before it
    writes, so a caller may catch the refusal and go on within the same
    transaction; any other exception means the transaction must be rolled
    back.

    Waiting (``remotetask.store.waiting``): a job added ``waiting`` and
    given to ``wait`` waits for other jobs. The end of each of them
    (``finish`` to completed or error, ``transition`` to cancelled)
    counts it down, in the same transaction: once they have all ended it
    is ``queued`` (its input joined to their results if it was given
    pass), and one that failed (error or cancelled) cancels it at once if
    its ``onFailure`` is ``cancel``, whose end goes on to its own
    dependents. Exactly once, however many servers end its dependencies
    at once. Finding the dependents of an ended job is an index lookup.
    ``purge`` and ``clean`` keep a finished job that an unfinished one
    waits for.

    Identity: ids are ints from 1, increasing, never reused within a store,
    below 2**31 so that they travel as XML-RPC ints.

    Claiming: ``claim`` hands each due run to exactly one caller, even with
    many threads, processes or servers claiming at once, and never skips a
    due job it may take. Cron runs come first, then delayed jobs, then
    queued jobs, highest priority first, then in id order; queued jobs are
    claimed by one statement however many are asked for, each task's
    through an index, so that a claim costs the same however many jobs
    wait. Only jobs of the tasks asked for are claimed. A task's limits
    (``remotetask.core.limits``) hold for its jobs' runs however many
    claims run at once, on one store or several servers: at most
    ``concurrency`` of them hold a claim at any time, and at most
    ``rate.count`` are claimed in any ``rate.seconds``; a job held back by
    a limit stays as it was (not an attempt), and other tasks' jobs are
    claimed past it. A claimed queued or delayed job is ``processing`` with a
    fresh ``token``; a claimed cron job keeps status ``cronjob``, its
    ``due`` moves on to the next run (missed runs coalesce into one), and
    it gets a token too. ``finish`` succeeds only with the token of the
    current claim, so a caller that lost its claim cannot overwrite a
    result. A claim may hand out runs that wait before they start (beside
    busy workers): their ``attempts`` grow only when ``markStarted`` says
    they began, so that a run the server never started is not counted as
    an attempt when the server dies.

    Cost: lookups by id, claims and cleaning do not scan or load the whole
    table; memory does not grow with the number of jobs.

    Thread safety: every method may be called from any thread.

    Looking (for the dashboard and ``/metrics``): ``counts`` reads an index
    of (status, task) whole, so it costs time in proportion to the number of
    jobs (about 0.1 s per million on SQLite): callers that poll cache it.
    ``newest`` pages newest first by a keyset cursor on the id, through an
    index, never an offset, so every page costs the same at any depth; a
    filter no index serves (``text``, or ``task`` together with ``status``)
    looks at no more than ``scan`` jobs per page, so a rare match may take
    several short pages to find, and each page still costs a bounded time.
    """

    maxEvents = Attribute('How many events a job keeps at most.')
    apiTokens = Attribute('The API tokens kept beside the jobs '
                          '(``IApiTokenStore``).')
    maxPassed = Attribute('The largest input (bytes of stored JSON) a job '
                          'given pass may be given; past it, it ends in '
                          'error.')

    def add(task, input, status, schedule, now, priority=0, key=None,
            due=None, maxAttempts=None, notify=None, event=None,
            owner=None):
        """Store a new job and return its id; with a ``key`` held by an
        unfinished job of ``task``, store nothing and return that job's
        id. ``due`` (epoch seconds): a queued job is not claimed before.
        ``event`` is its first; ``owner`` who added it (None: no one)."""

    def addMany(entries, now, event=None):
        """Store ``remotetask.core.entries.Entry`` tuples (a plain ``(task,
        input, status, schedule)`` is one with the defaults) in one
        transaction, as ``add`` does each, each with the first event
        ``event``; return their ids in order. All or nothing."""

    def get(jobid):
        """Return the row of ``jobid``; ``NoSuchJob`` if there is none."""

    def statuses(ids):
        """Return ``{jobid: status}`` for those of ``ids`` that exist, in
        one read."""

    def ids(after=0, limit=None):
        """Return up to ``limit`` job ids greater than ``after``, ascending."""

    def count():
        """Return the number of jobs."""

    def find(status=None, task=None, after=None, limit=100, owner=None):
        """Return rows matching ``status``/``task`` with id > ``after``,
        ascending by id, at most ``limit``; with ``owner``, only the jobs
        it added."""

    def transition(jobid, fromStatuses, toStatus, now=None, event=None):
        """Set ``toStatus`` if the job's status is in ``fromStatuses``; a
        job that ends so (cancelled) gets ``completed`` ``now``.

        Return whether it changed; ``NoSuchJob`` if there is no such job.
        """

    def scheduleFirstRuns(now, firstDue):
        """Give every cron and delayed job that has no due time yet the due
        time ``firstDue(row, now)``; return how many were scheduled."""

    def claim(now, limit, token, nextDue, started=None, scheduled=True,
              tasks=None, limits=None, event=None):
        """Claim up to ``limit`` runs due at ``now``, marking each with
        ``token``; return their rows (after the claim), in the order they
        should run. ``nextDue(row, now)`` gives a cron job's next due time.
        ``started`` (epoch seconds) marks the runs started at once, each
        attempt counted; None leaves that to ``markStarted``. With
        ``scheduled`` False only queued jobs are looked at (no cron or
        delayed search: the cheap claim a dispatcher makes at every
        wake-up). ``tasks``: the names of the tasks whose jobs may be
        claimed (None: any); ``limits``: ``{task: Limit}`` of those that
        have limits. With ``started``, each run's progress is cleared and
        ``event`` (a "started" event) appended."""

    def markStarted(runs, now, event=None):
        """Record that the claimed runs ``[(jobid, token)]`` began at
        ``now``: each one's ``attempts`` grows by one, its progress (of an
        earlier run) is cleared and ``event`` appended. A run whose token
        is no longer current is left alone. Return how many were marked."""

    def finish(jobid, token, status, output, error, traceback, now,
               due=None, attempt=None, event=None, progress=None,
               started=None, startEvent=None):
        """Record the end of the run claimed with ``token``. ``status`` None
        keeps the status (cron); ``queued`` is a retry, due at ``due``.
        ``attempt`` (JSON text, or None) is appended to the history;
        ``progress`` (JSON text), when given, is the run's last report.
        ``started`` (epoch seconds), when given, is the run's start, not
        recorded yet: the same statement records it first, as
        ``markStarted(runs, started, startEvent)`` would, so that a short
        run's start and end cost one statement.
        Return False, writing nothing, if the token is not the job's
        current one (the claim was lost, or the job was cancelled
        meanwhile)."""

    def finishMany(runs):
        """``finish`` for each of ``runs`` (tuples of its arguments in
        order, up to ``progress`` at least), in one transaction: what ``finish`` returns for
        each, in order. For a server recording many ends at once; a store
        over a network sends them in one round trip."""

    def release(jobid, token, started=False, event=None):
        """Give up the claim ``token`` on a job that did not run to its
        end (server shutting down): a processing job goes back to the
        queue. ``started``: the run had begun, and its attempt is given
        back (stopping the server is not the job's failure). Return False,
        writing nothing, if the token is not current."""

    def releaseClaims(tokens):
        """Give up every claim of ``tokens``, as ``release`` does for runs
        that never started: for claims whose commit was lost
        (``StoreOutcomeUnknown``), which may hold jobs no one runs. Return
        how many jobs were released."""

    def skipRuns(jobid, due, next, missed):
        """Move a cron job's due time from ``due`` to ``next``, adding
        ``missed`` to its count of due times that passed without a run.
        A compare-and-set: False, writing nothing, if its due time is no
        longer ``due`` (another server moved it)."""

    def hasDue(now):
        """Return whether ``claim(now, ...)`` would find a run."""

    def requeue(statuses, toStatus, event=None, before=None):
        """Move every job in ``statuses`` that holds a claim to
        ``toStatus``, dropping the claim; return how many moved. A store
        shared by several servers moves only the claims of this server.
        ``before`` (epoch seconds), when given: only the claims made
        before then (a server's recovery leaves alone the claims it made
        since it started, which are its own to finish)."""

    def setSchedule(jobid, schedule):
        """Replace a cron job's schedule and clear its due time."""

    def purge(statuses, before, limit):
        """Delete at most ``limit`` jobs per status in ``statuses`` that
        ended before ``before``; return how many were deleted."""

    def clean(statuses):
        """Delete every job whose status is in ``statuses``; return how
        many were deleted."""

    def counts():
        """Return ``[{status, task, count}]``: how many jobs there are of
        each status and task (combinations without jobs are left out)."""

    def oldestQueued(now):
        """Return since when (epoch seconds) the oldest queued job due at
        ``now`` has waited: its due time (a retry, a delayed add), else
        its creation. None when no queued job is due."""

    def newest(status=None, task=None, text=None, before=None, limit=50,
               scan=10000, owner=None):
        """Return ``(rows, cursor)``: up to ``limit`` jobs with an id below
        ``before`` (any id when None), newest first, matching ``status``,
        ``task`` and ``text`` (found, ignoring ASCII case, in the input's
        stored JSON text or in the error). Rows are previews: the keys
        ``id, task, status, created, started, completed, due, attempts,
        missed``, and ``input`` and ``error`` cut to their first 200
        characters. ``cursor`` is the ``before`` of the next page, or None
        when there is none. At most ``scan`` jobs are looked at when a
        filter is not served by an index, so a page may be short, or
        empty, and still have a cursor. With ``owner``, only the jobs it
        added (through an index; every other filter is then one it does
        not serve)."""

    def retry(jobid, event=None):
        """Queue a job that ended in ``error`` again, due at once, with a
        fresh count of attempts (``history`` keeps the failed ones).
        Return whether it was in error; ``NoSuchJob`` if there is none;
        ``NotAllowed`` while another unfinished job of its task holds its
        key."""

    def runNow(jobid, now, event=None):
        """Make a cron or delayed job due at ``now``, recording ``event``:
        its next claim runs it, and a cron job then goes on with its
        schedule. Return False, writing nothing, unless it is a cron or
        delayed job not running at the moment; ``NoSuchJob`` if there is
        none."""

    def setProgress(reports):
        """Record ``[(jobid, token, progress)]`` (progress: JSON text),
        each only if its token is the job's current one; return how many
        were recorded."""

    def claimNotifications(now, limit, token, lease):
        """Claim up to ``limit`` completion calls due at ``now``, marking
        each with ``token`` and making it due again at ``lease`` (should
        the claimer never say how it went); return rows ``{job, url,
        status, since, attempts, token}`` (``since``: when the job ended;
        ``attempts``: calls made so far), by job id. Each due call goes to
        one caller, whichever server claims."""

    def nextNotification():
        """When the next completion call is due (epoch seconds), or None
        when none is owed."""

    def recordNotification(jobid, token, due, event):
        """Say how the claimed call went: ``due`` None, it is done (made,
        or given up); otherwise it failed and is due again then, one more
        attempt counted. ``event`` is appended to the job's events. False,
        writing nothing, unless ``token`` is the call's current claim."""

    def countRuns(minute, server, finished, failed):
        """Add ``finished`` runs that ended well and ``failed`` that ended
        in a failure to the counters of ``minute`` (epoch seconds // 60)
        and ``server``."""

    def sampleQueue(minute, server):
        """Record the number of queued jobs now as the queue depth of
        ``minute`` seen by ``server``; it counts the queued jobs' index
        entries, not every job."""

    def minutes(since):
        """``[{minute, finished, failed, queued}]`` from ``since`` on,
        ascending, each the sum over the servers (``queued``: the deepest
        any of them saw, or None when none sampled)."""

    def purgeMinutes(before):
        """Delete the counters of the minutes before ``before``; return
        how many rows went."""

    def dependencyStates(ids):
        """``{id: {id, task, status, schedule}}`` of those of ``ids`` that
        exist: the jobs a new job is to wait for, which cannot end until
        the transaction open on this thread ends."""

    def wait(jobid, after, onFailure, passResults, now):
        """Make the ``waiting`` job ``jobid`` wait for the jobs ``after``
        (``NoSuchJob`` for an id without one); ``onFailure`` 'cancel' or
        'run'; ``passResults``: join its input to their results when it
        is queued. Released (or cancelled) at once if they have ended;
        return its status then if it changed, else None."""

    def dependencies(jobid, limit=1000):
        """``[{id, task, status}]`` of the jobs ``jobid`` waits (or
        waited) for, by id, at most ``limit``."""

    def dependents(jobid, limit=1000):
        """``[{id, task, status}]`` of the jobs that wait (or waited) for
        ``jobid``, by id, at most ``limit``."""

    def watchWaits(callback):
        """Call ``callback([(jobid, status)])`` after a commit that
        released (``queued``) or ended waiting jobs."""

    def transaction():
        """A context manager: one write transaction on this thread, which
        this store's methods called inside it join (see the class
        docstring)."""

    def afterCommit(callback):
        """Call ``callback()`` once the transaction open on this thread
        has committed (at once when none is open); never if it rolls back.
        For telling others about a change only when they can read it."""

    def close():
        """Release connections; the store is not used afterwards."""


class ISharedJobStore(IJobStore):
    """A job store that several servers share (PostgreSQL), each known
    by its ``serverId``. What sharing adds: each server heartbeats and
    says which tasks it serves, so that an add on any server is accepted
    for a task some server alive serves; the live servers put back in the
    queue the jobs of a server whose heartbeat stopped; and a change made
    by one server (a job added, a job ended) wakes the others.

    A store that one server holds alone (SQLite) provides none of this:
    its server knows every task it serves, and recovers its own jobs at
    start."""

    serverId = Attribute('This server\'s name among those sharing the '
                         'store, recorded on the jobs it claims.')

    def heartbeat(now):
        """Record that this server is alive at ``now``, serving the tasks
        it announced."""

    def announce(tasks, limited, now):
        """Record that this server serves ``tasks`` ({name: description})
        from ``now`` on, with a heartbeat; ``limited``: those of them
        whose claims are limited (``remotetask.core.limits``)."""

    def withdraw():
        """Serve no task any more: the server is stopping."""

    def servedTasks(now):
        """``{task: {description, servers}}`` of every task that a
        server alive at ``now`` serves."""

    def lastServedTasks():
        """What ``servedTasks`` answered last ({} before its first
        answer), reading nothing: for listings that must answer while the
        store does not."""

    def servers():
        """``[{id, heartbeat, tasks, running}]``: the servers sharing the
        store, for the dashboard."""

    def recoverLost(now, timeout):
        """Put back in the queue the jobs claimed by servers that have
        not heartbeated for ``timeout`` seconds; their ids, ascending."""

    def listen(callback, finished=None):
        """Call ``callback()`` soon after a job is added (or queued again)
        by any server, and ``finished(jobid, status)`` when one ends;
        ``finished(None, None)`` when ends may have gone unheard. Return
        ``stop()``."""


class IQuickWrites(Interface):
    """A store whose write transactions take microseconds and never wait
    on the disk (SQLite in WAL mode with ``synchronous = NORMAL``: a
    commit is an append to the log, no fsync), so that the server may
    commit them on its reactor thread rather than hand each to a thread
    and back. What may wait (the checkpoints that move the log into the
    file, fsync included) is left to ``checkpoint()``, in a thread."""

    def writingNow():
        """A context manager giving True when this thread holds the
        store's write lock at once, without waiting (it is held until the
        block ends, and transactions inside it join it), and False when
        another thread holds it: then nothing is written here."""

    def checkpoint():
        """Move what the write-ahead log holds into the file, without
        waiting for readers or writers; in a thread, never the one that
        writes in ``writingNow()``."""


class ITaskService(Interface):
    """The task service: queue jobs, run them, report on them."""

    jobs = Attribute('A read-only mapping id -> job.')

    def getAvailableTasks():
        """Return a dict name -> task of the tasks this service can run."""

    def add(task, input=None, startLater=False, *, priority=0, key=None,
            delay=None, maxAttempts=None, notify=None, after=None,
            onFailure=None, passResults=None):
        """Queue a job for ``task``; return its id (keyword-only options:
        see ``TaskService.add``; ``notify`` a URL whose ``jobEnded(id,
        status)`` is called when the job ends; ``after`` job ids it waits
        for)."""

    def addChain(steps):
        """Add jobs each waiting for the one before, with its result;
        return their ids."""

    def addGroup(steps, then=None):
        """Add jobs, and ``then`` waiting for them all with their
        results; return their ids, ``then``'s last."""

    def addCronJob(task, input=None, minute=(), hour=(), dayOfMonth=(),
                   month=(), dayOfWeek=(), delay=None, crontab=None):
        """Add a job that runs on a schedule, or once after ``delay``."""

    def startJob(jobid):
        """Queue a ``start later`` job; return whether it was waiting."""

    def reschedule(jobid):
        """Recompute a cron job's next run after its schedule changed."""

    def cancel(jobid):
        """Cancel a job that has not finished; return None, as the
        originals did. A job that has finished, or an id no job has, is
        silently left as it is."""

    def cancelJob(jobid):
        """Cancel a job that has not finished (a running one too; a cron
        job: its future runs). Return True if it was cancelled, False if
        it had already finished; raise ``NoSuchJob`` for an id no job has.
        """

    def getStatus(jobid):
        """Return the job's status."""

    def getResult(jobid):
        """Return the job's output, or None."""

    def getError(jobid):
        """Return the job's error message, or None."""

    def clean(stati=None):
        """Remove the finished jobs whose status is in ``stati`` (default:
        completed, error and cancelled); return None, as the originals
        did."""

    def removeFinished(stati=None):
        """Remove the finished jobs whose status is in ``stati`` (default:
        completed, error and cancelled) and return how many were removed.
        A status whose jobs may still run is refused with
        ``InvalidArgument``."""

    def hasJobsWaiting(now=None):
        """Return whether a job is due at ``now``."""

    def processNext(now=None):
        """Run one due job; return False when none was due."""

    def process(now=None):
        """Run every job due at ``now``; return when none is left."""

    def startProcessing():
        """Start processing jobs once a second in a background thread."""

    def stopProcessing():
        """Stop the background processing and wait for it to end."""

    def isProcessing():
        """Return whether background processing is running."""


class IApiTokenStore(Interface):
    """The API tokens (issue 22), kept in the job store so that every
    server sharing it knows them. Each is kept as the SHA-256 of the
    token (``digest``, hex), never the token itself; ``tasks`` is a list
    of task names (``['*']``: every task)."""

    def add(name, digest, role, tasks, now, expires=None):
        """Keep a token; False, keeping nothing, if ``name`` is taken."""

    def find(digest):
        """``{name, role, tasks, expires, lastused}`` of the token whose
        digest is ``digest``, or None."""

    def list():
        """``[{name, role, tasks, created, expires, lastused}]`` by name;
        never a digest."""

    def revoke(name):
        """Forget the token ``name``; whether there was one."""

    def touch(digest, now):
        """Record ``now`` as the token's last use."""
