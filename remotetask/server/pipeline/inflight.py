"""The jobs in flight on this server: one table, one entry per job.

Between its claim and its recorded end (or put-back), a job lives here and
nowhere else: its row, the task it runs, the worker that has it, when it
started, whether it was cancelled, and the news about it the recorder
still owes the store. The feeder, the pool's workers, the recorder, the
cancel watch and the metrics all hold or read these same ``Run`` objects;
none keeps a copy of what a run says. The start is stamped once, by the
pool, on its clock (the reactor's).

Besides the table itself (claim order), one index is kept: the runs held
for a worker and not yet handed out, in the order they go (``waiting``),
so that handing out never walks the whole table.
"""

import collections

#: A run's phases, in order.
HELD = 'held'          # claimed, waiting here for a worker
SENT = 'sent'          # in a worker's inbox, not started
RUNNING = 'running'    # started in its worker
ENDED = 'ended'        # its end is known, being recorded
LEAVING = 'leaving'    # being put back in the queue

#: The error a pool ends a run with when it stopped the run's worker
#: because the server stops; the dispatcher puts such a job back in the
#: queue instead of recording it.
STOPPED = 'The server stopped while the job was running.'


class Run:
    """One job in flight: ``row`` (as claimed; ``attempts`` and
    ``started`` follow the run), ``task`` (the object that runs it),
    ``worker``, ``startedAt`` (the pool's clock), ``cancelled``; and what
    the recorder owes the store: ``startOwed``, ``outcome`` and
    ``seconds`` of its end, ``putBackStarted`` (None: not put back), the
    latest ``report`` of progress not written and when one was last
    written (``reportedAt``)."""

    __slots__ = ('row', 'id', 'task', 'phase', 'worker', 'startedAt',
                 'cancelled', 'startOwed', 'outcome', 'seconds',
                 'putBackStarted', 'report', 'reportedAt')

    def __init__(self, row, task=None):
        self.row = row
        # The job's id, read a dozen times per run by the parts: kept,
        # not looked up in the row each time (a row's id never changes).
        self.id = row['id']
        self.task = task
        self.phase = HELD
        self.worker = None
        self.startedAt = None
        self.cancelled = False
        self.startOwed = False
        self.outcome = self.seconds = self.putBackStarted = None
        self.report = None
        self.reportedAt = float('-inf')

    @property
    def out(self):
        """Whether a worker has it (sent or running)."""
        return self.phase in (SENT, RUNNING)

    def __repr__(self):
        return f'<Run {self.id} {self.row["task"]} {self.phase}>'


class InFlight:
    """The table: ``runs`` (jobid -> Run, in claim order) and the index
    ``waiting`` of the held ones (jobid -> Run, in hand-out order)."""

    def __init__(self):
        self.runs = {}
        self.waiting = collections.OrderedDict()

    def __contains__(self, jobid):
        return jobid in self.runs

    def get(self, jobid):
        return self.runs.get(jobid)

    def add(self, run):
        """Add ``run`` without holding it for a worker (it is on its way
        back to the queue)."""
        self.runs[run.id] = run

    def hold(self, run, first=False):
        """Add ``run`` (new, or given back by its worker) to those held
        for a worker; ``first``: in front of the others."""
        self.runs[run.id] = run
        run.phase, run.worker = HELD, None
        self.waiting[run.id] = run
        if first:
            self.waiting.move_to_end(run.id, last=False)

    def takeWaiting(self, count):
        """Up to ``count`` held runs, in order, no longer held."""
        taken = []
        while self.waiting and len(taken) < count:
            taken.append(self.waiting.popitem(last=False)[1])
        return taken

    def remove(self, run):
        """The run is over here (its end or put-back written, or given up)."""
        self.waiting.pop(run.id, None)
        if self.runs.get(run.id) is run:
            del self.runs[run.id]

    def out(self):
        """The runs a worker has."""
        return [run for run in self.runs.values() if run.out]

    def running(self):
        """The ids of the runs started here and not ended."""
        return sorted(run.id for run in self.runs.values()
                      if run.phase == RUNNING)
