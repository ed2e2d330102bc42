"""The store contract, ``IJobStore``: written once, here, as prose and
methods, and tested once (``tests/storecontract.py``) on every store."""

from zope.interface import Attribute, Interface


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
    at most ``remotetask.core.bounds.MAX_JOB_ID`` so that they travel as
    XML-RPC ints.

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
