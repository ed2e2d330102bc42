"""The interfaces of the Python API, named as in z3c.taskqueue: a task, a
job and a cron job, where a service finds its tasks, and the service."""

from zope.interface import Attribute, Interface


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
