-- The SQLite job store's queries. Parameters are named (:id), except in
-- the statements run once per job (insert_jobs, finish_runs,
-- finish_one), which number theirs (?1) and say what each is; times are
-- epoch seconds as REAL. See remotetask/interfaces.py IJobStore for what
-- each operation promises.
--
-- A statement that records an event appends :event (JSON, or NULL for
-- none) to the job's events, keeping at most :keep of them, the first and
-- the latest (remotetask/core/events.py), with one function:
--   remotetask_append_event(events, :event, :keep)
-- as PostgreSQL's statements do with theirs of the same name. SQLite has
-- no functions written in SQL, and a view, a CTE or a generated column
-- cannot take a statement's parameters: so the function is defined in
-- Python, on each connection (appendEvent, in sqliteconnections.py),
-- rather than its CASE pasted into every statement. A "started" event
-- gets its attempt number first: json_set(:event, '$.attempt', ...), NULL
-- when :event is. The claims, whose :event is NULL unless they start
-- their runs at once (most do not), skip the call when it is: a call
-- from SQLite into Python, to hand back the events unchanged, cost more
-- than the rest of the column's work. The ends, which record a run's
-- start with its end (most do), append both events in one call:
--   remotetask_append_events(events, :startEvent, :event, :keep)
-- (SQLite's only: PostgreSQL's function is in SQL, and costs no call).

-- name: migration_0001
-- The jobs table. AUTOINCREMENT so that an id is never reused after
-- clean(); the CHECK keeps ids within XML-RPC's 32-bit int.
CREATE TABLE jobs (
    id INTEGER PRIMARY KEY AUTOINCREMENT CHECK (id < 2147483648),
    task TEXT NOT NULL,
    status TEXT NOT NULL,
    input TEXT,
    output TEXT,
    error TEXT,
    traceback TEXT,
    created REAL NOT NULL,
    started REAL,
    completed REAL,
    schedule TEXT,
    due REAL,
    attempts INTEGER NOT NULL DEFAULT 0,
    token TEXT
);
-- Claiming the oldest queued job, listing and cleaning by status.
CREATE INDEX jobs_by_status ON jobs (status, id);
-- Due cron and delayed jobs; partial, so it holds only those few rows.
CREATE INDEX jobs_scheduled ON jobs (status, due)
    WHERE status IN ('cronjob', 'delayed');
-- Listing by task.
CREATE INDEX jobs_by_task ON jobs (task, id);

-- name: migration_0002
-- Every failed attempt of a job (a JSON array of {attempt, error,
-- started, completed}), so that retries keep what went wrong each time.
ALTER TABLE jobs ADD COLUMN history TEXT;

-- name: migration_0003
-- How many due times of a cron job passed without a run (the server was
-- down, or the job's misfire policy skipped them).
ALTER TABLE jobs ADD COLUMN missed INTEGER NOT NULL DEFAULT 0;

-- name: migration_0004
-- Retention finds old finished jobs by status and end time; partial, so
-- the many queue updates of unfinished jobs do not maintain it.
CREATE INDEX jobs_finished ON jobs (status, completed)
    WHERE status IN ('completed', 'error', 'cancelled');

-- name: migration_0005
-- Counting jobs by status and task (the dashboard, /metrics) reads this
-- index alone instead of every row: about a tenth of the time on a large
-- store, for one more index entry to keep per add and status change.
CREATE INDEX jobs_by_status_task ON jobs (status, task);

-- name: migration_0006
-- When the current claim was made: a claimed job may wait beside the
-- workers before it starts (its attempt is counted only then).
ALTER TABLE jobs ADD COLUMN claimed REAL;

-- name: migration_0007
-- Queues that route, rank, limit and deduplicate. priority: higher is
-- claimed first. key: while an unfinished job of a task has a key, adding
-- another with it returns that job (jobs_key makes this atomic). due, which
-- a retry already had, now also holds an add's delay. maxattempts: the
-- job's own, over its task's. server: the server that last started a run
-- of the job, kept after the run ends (unlike token).
ALTER TABLE jobs ADD COLUMN priority INTEGER NOT NULL DEFAULT 0;
ALTER TABLE jobs ADD COLUMN key TEXT;
ALTER TABLE jobs ADD COLUMN maxattempts INTEGER;
ALTER TABLE jobs ADD COLUMN server TEXT;
-- Claims seek each served task's queue in the order they take jobs:
-- partial, so it holds the queued jobs alone, however many have ended.
CREATE INDEX jobs_queued ON jobs (task, priority DESC, id)
    WHERE status = 'queued';
-- At most one unfinished job per task and key.
CREATE UNIQUE INDEX jobs_key ON jobs (task, key)
    WHERE key IS NOT NULL
      AND status IN ('queued', 'processing', 'start later');
-- The last starts of each rate-limited task (a JSON array of epoch
-- seconds, oldest first, at most as many as the rate allows).
CREATE TABLE limits (
    task TEXT PRIMARY KEY,
    starts TEXT NOT NULL DEFAULT '[]'
);

-- name: migration_0008
-- What a caller sees of one job (issue 13). progress: the latest progress
-- report, JSON {fraction, message, at}. events: the job's history, a JSON
-- array oldest first, bounded (remotetask/core/events.py), appended by
-- the statement that makes each change. notify: the URL told of the end.
ALTER TABLE jobs ADD COLUMN progress TEXT;
ALTER TABLE jobs ADD COLUMN events TEXT;
ALTER TABLE jobs ADD COLUMN notify TEXT;
-- Completion calls still to be made, one per job, written in the
-- transaction that ends the job so that a call outstanding when the
-- server stops is made after it starts again. A claim moves due past the
-- call's lease; a row goes once its call was made or given up, and with
-- its job (ON DELETE CASCADE: the store turns foreign keys on).
CREATE TABLE notifications (
    job INTEGER PRIMARY KEY REFERENCES jobs (id) ON DELETE CASCADE,
    url TEXT NOT NULL,
    status TEXT NOT NULL,
    since REAL NOT NULL,
    due REAL NOT NULL,
    attempts INTEGER NOT NULL DEFAULT 0,
    token TEXT
);
CREATE INDEX notifications_due ON notifications (due);
-- The dashboard's chart: runs that ended per minute (finished: ok,
-- failed: a failure, retried or not) and the queue's depth sampled in
-- that minute, one row per minute and server, counted in the
-- transactions that record the ends: never a scan of the jobs.
CREATE TABLE minutes (
    minute INTEGER NOT NULL,
    server TEXT NOT NULL,
    finished INTEGER NOT NULL DEFAULT 0,
    failed INTEGER NOT NULL DEFAULT 0,
    queued INTEGER,
    PRIMARY KEY (minute, server)
);

-- name: migration_0009
-- Callers and their rights (issue 22). addedby: the user or API token that
-- added the job (a cron job's runs are the cron job's own row, so they
-- are its adder's); NULL for jobs added before, or on an open server.
ALTER TABLE jobs ADD COLUMN addedby TEXT;
-- A caller's own jobs, in id order; partial, so an open server's jobs
-- (no owner) cost it nothing.
CREATE INDEX jobs_by_owner ON jobs (addedby, id) WHERE addedby IS NOT NULL;
-- API tokens (remotetask token create): only the SHA-256 of each token
-- (digest, hex) is kept, never the token; tasks is a JSON array of the
-- task names a caller may add (["*"]: all); expires and lastused are
-- epoch seconds (NULL: never).
CREATE TABLE api_tokens (
    name TEXT PRIMARY KEY,
    digest TEXT NOT NULL UNIQUE,
    role TEXT NOT NULL,
    tasks TEXT NOT NULL,
    created REAL NOT NULL,
    expires REAL,
    lastused REAL
);

-- name: insert_job
-- No row back when the key is taken (jobs_key): see keyed_job. :event
-- (JSON, or NULL) is the job's first event, "added".
INSERT INTO jobs (task, status, input, schedule, created, priority, key,
                  due, maxattempts, notify, addedby, events)
VALUES (:task, :status, :input, :schedule, :now, :priority, :key, :due,
        :maxattempts, :notify, :owner,
        CASE WHEN :event IS NOT NULL THEN json_array(json(:event)) END)
ON CONFLICT DO NOTHING
RETURNING id;

-- name: insert_jobs
-- insert_job for a run of a batch's entries without a key, which nothing
-- can conflict with (executemany: no row back; see sqliteadd.py). The
-- parameters are numbered, bound from a tuple per entry: an Entry's
-- fields in their order, then the time and the events (binding by name
-- made a string and a lookup per parameter and row, more than SQLite's
-- own work on a parameter):
--   ?1 task, ?2 input, ?3 status, ?4 schedule, ?5 priority, ?6 key,
--   ?7 due, ?8 maxattempts, ?9 notify, ?10 owner, ?11 now, ?12 events.
-- ?12 is the batch's first event as a JSON array, made once for all of
-- its entries (json_array(json(:event)) parsed the event again for each
-- row, a third of the insert's own work).
INSERT INTO jobs (task, input, status, schedule, priority, key, due,
                  maxattempts, notify, addedby, created, events)
VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12);

-- name: last_job_id
-- The id of the job this connection inserted last.
SELECT last_insert_rowid() AS id;

-- name: keyed_job
-- The unfinished job of a task that holds a key, through jobs_key (whose
-- WHERE is repeated, word for word, so that SQLite uses it).
SELECT id FROM jobs
WHERE task = :task AND key = :key AND key IS NOT NULL
  AND (status = 'queued' OR status = 'processing'
       OR status = 'start later');

-- name: get_job
SELECT * FROM jobs WHERE id = :id;

-- name: job_ids
-- A page of ids for iterating over a large store without loading it.
SELECT id FROM jobs WHERE id > :after ORDER BY id LIMIT :limit;

-- name: count_jobs
SELECT count(*) FROM jobs;

-- name: find_jobs
-- A page of jobs; NULL parameters match anything.
SELECT * FROM jobs
WHERE id > :after
  AND (:status IS NULL OR status = :status)
  AND (:task IS NULL OR task = :task)
ORDER BY id LIMIT :limit;

-- name: find_jobs_by_status
-- The same, through jobs_by_status_task, reading no row but those of the
-- page: the tasks of :status (a loose index scan, one seek per task;
-- :task alone when given), how far each task's first :limit ids after
-- :after go (a walk of its entries), the ids of each up to there, and
-- the first :limit of those.
WITH RECURSIVE tasks (task) AS (
    SELECT coalesce(:task, (SELECT min(task) FROM jobs
                            WHERE status = :status))
    UNION ALL
    SELECT (SELECT min(task) FROM jobs
            WHERE status = :status AND task > tasks.task)
    FROM tasks WHERE tasks.task IS NOT NULL AND :task IS NULL),
reach AS (
    SELECT task, (SELECT id FROM jobs
                  WHERE status = :status AND task = tasks.task
                    AND id > :after
                  ORDER BY id LIMIT 1 OFFSET :limit - 1) AS last
    FROM tasks WHERE task IS NOT NULL)
SELECT * FROM jobs WHERE id IN (
    SELECT job.id FROM reach JOIN jobs AS job
        ON job.status = :status AND job.task = reach.task
       AND job.id > :after AND job.id <= coalesce(reach.last, 2147483647)
    ORDER BY job.id LIMIT :limit)
ORDER BY id LIMIT :limit;

-- name: find_jobs_by_task
-- A page of one task's jobs, through jobs_by_status_task (migration 13):
-- its statuses (a loose index scan of the few there are, one seek each),
-- how far the task's first :limit ids after :after go in each (a walk of
-- its entries), the ids of each up to there, and the first :limit of
-- those; as find_jobs_by_status does for the tasks of a status.
WITH RECURSIVE statuses (status) AS (
    SELECT (SELECT min(status) FROM jobs)
    UNION ALL
    SELECT (SELECT min(status) FROM jobs WHERE status > statuses.status)
    FROM statuses WHERE statuses.status IS NOT NULL),
reach AS (
    SELECT status, (SELECT id FROM jobs
                    WHERE status = statuses.status AND task = :task
                      AND id > :after
                    ORDER BY id LIMIT 1 OFFSET :limit - 1) AS last
    FROM statuses WHERE status IS NOT NULL)
SELECT * FROM jobs WHERE id IN (
    SELECT job.id FROM reach JOIN jobs AS job
        ON job.status = reach.status AND job.task = :task
       AND job.id > :after AND job.id <= coalesce(reach.last, 2147483647)
    ORDER BY job.id LIMIT :limit)
ORDER BY id LIMIT :limit;

-- name: get_status
SELECT status FROM jobs WHERE id = :id;

-- name: get_statuses
-- The statuses of many jobs at once (:ids is a JSON array), for whoever
-- watches many (waiters, running jobs that may have been cancelled).
SELECT id, status FROM jobs WHERE id IN (SELECT value FROM json_each(:ids));

-- name: set_status
-- A job that ends here (cancelled) ended now: completed is its end, for
-- retention and for the completion call.
UPDATE jobs
SET status = :status, token = NULL,
    completed = CASE WHEN :status = 'completed' OR :status = 'error'
                          OR :status = 'cancelled'
                     THEN coalesce(:now, completed) ELSE completed END,
    events = remotetask_append_event(events, :event, :keep)
WHERE id = :id;

-- name: unscheduled_jobs
-- Cron and delayed jobs that no process() has seen yet.
SELECT * FROM jobs
WHERE status IN ('cronjob', 'delayed') AND due IS NULL;

-- name: set_due
UPDATE jobs SET due = :due WHERE id = :id;

-- name: due_cron_job
-- The IN term repeats jobs_scheduled's own WHERE, without which SQLite
-- does not use that partial index (and would sort every due job). Only
-- jobs of :tasks (a JSON array): those this server serves, and whose
-- limits allow one more run.
SELECT * FROM jobs
WHERE status IN ('cronjob', 'delayed') AND status = 'cronjob'
  AND due <= :now AND task IN (SELECT value FROM json_each(:tasks))
ORDER BY due, id LIMIT 1;

-- name: claim_cron_job
-- Moves due on before the run, so a due time is handed out once.
-- :started, when given, marks the run started at once (see claim_queued_jobs).
UPDATE jobs
SET due = :next, token = :token, claimed = :claimed,
    started = coalesce(:started, started),
    attempts = attempts + (:started IS NOT NULL),
    server = CASE WHEN :started IS NULL THEN server ELSE :server END,
    progress = CASE WHEN :started IS NULL THEN progress END,
    events = CASE WHEN :event IS NULL THEN events
                  ELSE remotetask_append_event(
                      events, json_set(:event, '$.attempt', attempts + 1),
                      :keep) END
WHERE id = :id AND due = :due
RETURNING *;

-- name: claim_delayed_jobs
-- Due delayed jobs, soonest first, at most :allowed[task] of each task
-- (a JSON object of the tasks this claim may take): for each task, a walk
-- of jobs_scheduled in due order takes no more than :limit of its jobs,
-- so that a backlog of due jobs is never sorted; the few candidates are
-- then ranked.
WITH served AS (SELECT key AS task, value AS allowed
                FROM json_each(:allowed)),
candidates AS (
    SELECT job.id, job.task, job.due, served.allowed
    FROM served JOIN jobs AS job ON job.id IN (
        SELECT id FROM jobs
        WHERE status IN ('cronjob', 'delayed') AND status = 'delayed'
          AND due <= :now AND task = served.task
        ORDER BY due, id LIMIT :limit)),
ranked AS (
    SELECT id, due, allowed,
           row_number() OVER (PARTITION BY task ORDER BY due, id) AS place
    FROM candidates)
UPDATE jobs
SET status = 'processing', token = :token, claimed = :claimed,
    started = coalesce(:started, started),
    attempts = attempts + (:started IS NOT NULL),
    server = CASE WHEN :started IS NULL THEN server ELSE :server END,
    progress = CASE WHEN :started IS NULL THEN progress END,
    events = CASE WHEN :event IS NULL THEN events
                  ELSE remotetask_append_event(
                      events, json_set(:event, '$.attempt', attempts + 1),
                      :keep) END
WHERE id IN (SELECT id FROM ranked WHERE place <= allowed
             ORDER BY due, id LIMIT :limit)
RETURNING *;

-- name: claim_queued_jobs
-- Up to :limit queued jobs that are due (a retry or a delayed add may wait
-- until later), highest priority first, then oldest, in one statement.
-- :allowed is a JSON object of the tasks this claim may take, each with
-- how many of its jobs (what its limits leave; :limit for a task without
-- any): a task held back by a limit is left out, or takes fewer, and
-- never stands in the way of another task's jobs. Each task's queue is
-- one seek of jobs_queued, taking no more than :limit of its jobs; the
-- few candidates are then ranked. :started, when given, marks them
-- started at once (attempts + 1); NULL leaves that to mark_started, for
-- jobs that wait beside the workers before they start, so that a job the
-- server never started is not counted as an attempt if the server dies.
-- :event (with :started) is the "started" event, given its attempt number
-- here.
WITH served AS (SELECT key AS task, value AS allowed
                FROM json_each(:allowed)),
candidates AS (
    SELECT job.id, job.task, job.priority, served.allowed
    FROM served JOIN jobs AS job ON job.id IN (
        SELECT id FROM jobs
        WHERE status = 'queued' AND task = served.task
          AND (due IS NULL OR due <= :now)
        ORDER BY priority DESC, id LIMIT :limit)),
ranked AS (
    SELECT id, priority, allowed,
           row_number() OVER (PARTITION BY task
                              ORDER BY priority DESC, id) AS place
    FROM candidates)
UPDATE jobs
SET status = 'processing', token = :token, claimed = :claimed,
    started = coalesce(:started, started),
    attempts = attempts + (:started IS NOT NULL),
    server = CASE WHEN :started IS NULL THEN server ELSE :server END,
    progress = CASE WHEN :started IS NULL THEN progress END,
    events = CASE WHEN :event IS NULL THEN events
                  ELSE remotetask_append_event(
                      events, json_set(:event, '$.attempt', attempts + 1),
                      :keep) END
WHERE id IN (SELECT id FROM ranked WHERE place <= allowed
             ORDER BY priority DESC, id LIMIT :limit)
RETURNING *;

-- name: claim_queued_task
-- claim_queued_jobs for a claim that may take jobs of one task only
-- (:allowed names one; :limit is what it allows): one seek of
-- jobs_queued, nothing to rank.
UPDATE jobs
SET status = 'processing', token = :token, claimed = :claimed,
    started = coalesce(:started, started),
    attempts = attempts + (:started IS NOT NULL),
    server = CASE WHEN :started IS NULL THEN server ELSE :server END,
    progress = CASE WHEN :started IS NULL THEN progress END,
    events = CASE WHEN :event IS NULL THEN events
                  ELSE remotetask_append_event(
                      events, json_set(:event, '$.attempt', attempts + 1),
                      :keep) END
WHERE id IN (SELECT id FROM jobs
             WHERE status = 'queued' AND task = :task
               AND (due IS NULL OR due <= :now)
             ORDER BY priority DESC, id LIMIT :limit)
RETURNING *;

-- name: claim_queued_any
-- claim_queued_jobs for a claim that no limit holds back (:allowed gives
-- every task :limit): the tasks are :tasks (a JSON array), each task's
-- queue still one seek of jobs_queued taking no more than :limit, but the
-- candidates need no ranking within their task, only the claim's order.
WITH candidates AS (
    SELECT job.id, job.priority
    FROM json_each(:tasks) AS served JOIN jobs AS job ON job.id IN (
        SELECT id FROM jobs
        WHERE status = 'queued' AND task = served.value
          AND (due IS NULL OR due <= :now)
        ORDER BY priority DESC, id LIMIT :limit))
UPDATE jobs
SET status = 'processing', token = :token, claimed = :claimed,
    started = coalesce(:started, started),
    attempts = attempts + (:started IS NOT NULL),
    server = CASE WHEN :started IS NULL THEN server ELSE :server END,
    progress = CASE WHEN :started IS NULL THEN progress END,
    events = CASE WHEN :event IS NULL THEN events
                  ELSE remotetask_append_event(
                      events, json_set(:event, '$.attempt', attempts + 1),
                      :keep) END
WHERE id IN (SELECT id FROM candidates ORDER BY priority DESC, id
             LIMIT :limit)
RETURNING *;

-- name: claim_queued_first
-- claim_queued_any for a claim of one job (most claims of single adds):
-- each task's first job is one scalar seek of jobs_queued, and the job
-- to update is one rowid, so that SQLite builds no temporary b-tree for
-- an IN list, a task's candidates or the rows to update; only the one
-- row sort across the tasks and RETURNING remain.
UPDATE jobs
SET status = 'processing', token = :token, claimed = :claimed,
    started = coalesce(:started, started),
    attempts = attempts + (:started IS NOT NULL),
    server = CASE WHEN :started IS NULL THEN server ELSE :server END,
    progress = CASE WHEN :started IS NULL THEN progress END,
    events = CASE WHEN :event IS NULL THEN events
                  ELSE remotetask_append_event(
                      events, json_set(:event, '$.attempt', attempts + 1),
                      :keep) END
WHERE id = (
    SELECT job.id
    FROM json_each(:tasks) AS served JOIN jobs AS job ON job.id = (
        SELECT id FROM jobs
        WHERE status = 'queued' AND task = served.value
          AND (due IS NULL OR due <= :now)
        ORDER BY priority DESC, id LIMIT 1)
    ORDER BY job.priority DESC, job.id LIMIT 1)
RETURNING *;

-- name: claimable_tasks
-- The tasks of the queued, cron and delayed jobs, for a claim that may
-- take any task: one seek of jobs_queued per task (a loose index scan),
-- and the few scheduled jobs.
WITH RECURSIVE queued (task) AS (
    SELECT min(task) FROM jobs WHERE status = 'queued'
    UNION ALL
    SELECT (SELECT min(task) FROM jobs
            WHERE status = 'queued' AND task > queued.task)
    FROM queued WHERE queued.task IS NOT NULL)
SELECT task FROM queued WHERE task IS NOT NULL
UNION
SELECT task FROM jobs WHERE status IN ('cronjob', 'delayed');

-- name: running_counts
-- How many runs of each of :tasks (a JSON array) hold a claim: processing
-- jobs, and cron jobs whose run is claimed; through jobs_by_status_task.
SELECT task, count(*) AS running FROM jobs
WHERE status IN ('processing', 'cronjob')
  AND task IN (SELECT value FROM json_each(:tasks))
  AND (status = 'processing' OR token IS NOT NULL)
GROUP BY task;

-- name: rate_starts
SELECT task, starts FROM limits
WHERE task IN (SELECT value FROM json_each(:tasks));

-- name: save_rate_starts
INSERT INTO limits (task, starts) VALUES (:task, :starts)
ON CONFLICT (task) DO UPDATE SET starts = excluded.starts;

-- name: mark_started
-- A claimed run began: count the attempt, forget the progress of an
-- earlier run, record the "started" event with its attempt number. Only
-- for the current claim.
UPDATE jobs
SET started = :now, attempts = attempts + 1, server = :server,
    progress = NULL,
    events = remotetask_append_event(
        events, json_set(:event, '$.attempt', attempts + 1), :keep)
WHERE id = :id AND token = :token;

-- name: skip_runs
-- Misfires: move a cron job's due time on, counting the due times that
-- passed without a run; a compare-and-set on due, as claims are.
UPDATE jobs SET due = :next, missed = missed + :missed
WHERE id = :id AND due = :due AND status = 'cronjob';

-- name: scheduled_due
-- Whether any cron or delayed job is due, through jobs_scheduled (whose
-- WHERE the IN term repeats): when none is, a claim skips their steps.
SELECT EXISTS (SELECT 1 FROM jobs
               WHERE status IN ('cronjob', 'delayed') AND due <= :now)
    AS due;

-- name: has_due
SELECT EXISTS (SELECT 1 FROM jobs
               WHERE status = 'queued' AND (due IS NULL OR due <= :now))
    OR EXISTS (SELECT 1 FROM jobs
               WHERE status IN ('cronjob', 'delayed') AND due <= :now);

-- name: finish_job
-- Only the holder of the current claim may record its end. A retry goes
-- back to the queue with a due time; a failure adds :attempt (JSON) to
-- the history, and :event to the events; :progress, when given, is the
-- run's last progress report. :started, when given, is the run's start,
-- not recorded yet (a short run's start and end come together): it is
-- recorded here first, as mark_started does, with :startEvent (given its
-- attempt number) before :event. Run for a batch's ends at once
-- (executemany), after held_claims told which runs hold their claim.
UPDATE jobs
SET status = coalesce(:status, status), output = :output, error = :error,
    progress = CASE WHEN :started IS NULL THEN coalesce(:progress, progress)
                    ELSE :progress END,
    started = coalesce(:started, started),
    attempts = attempts + (:started IS NOT NULL),
    server = CASE WHEN :started IS NULL THEN server ELSE :server END,
    traceback = :traceback, completed = :now, token = NULL,
    due = CASE WHEN :status = 'queued' THEN :due ELSE due END,
    history = CASE WHEN :attempt IS NULL THEN history
                   ELSE json_insert(coalesce(history, '[]'), '$[#]',
                                    json(:attempt)) END,
    events = remotetask_append_events(
        events, json_set(:startEvent, '$.attempt', attempts + 1), :event,
        :keep)
WHERE id = :id AND token = :token;

-- name: finish_runs
-- finish_job for a batch's ends that send no job back to the queue and
-- add nothing to its history (most of them), run after held_claims said
-- that they hold their claims. The parameters are numbered, bound from a
-- tuple per run (sqlitefinish.py): by name, each cost a string and a
-- lookup per run, a third of the statement's whole cost.
--   ?1 id, ?2 token, ?3 status, ?4 output, ?5 error, ?6 traceback,
--   ?7 now, ?8 progress, ?9 started, ?10 server,
--   ?11 the run's events as text to end the stored array with:
--       ',' and the start (its attempt number in it), ',' and the end,
--       then ']' (either may be missing);
--   ?12 the longest events (in characters) that ?11 may be added to
--       without passing the bound: the events hold no more than one per
--       events.SHORTEST characters;
--   ?13 the start event with its attempt number, ?14 the end event,
--   ?15 keep: for remotetask_append_events, past ?12 (or without
--       events), as finish_job appends them.
-- Appending the text in SQL costs no call into Python, and no parse of
-- the start event (json_set) per run.
UPDATE jobs
SET status = coalesce(?3, status), output = ?4, error = ?5,
    traceback = ?6, completed = ?7, token = NULL,
    progress = CASE WHEN ?9 IS NULL THEN coalesce(?8, progress)
                    ELSE ?8 END,
    started = coalesce(?9, started),
    attempts = attempts + (?9 IS NOT NULL),
    server = CASE WHEN ?9 IS NULL THEN server ELSE ?10 END,
    events = CASE WHEN length(events) BETWEEN 3 AND ?12
                  THEN substr(events, 1, length(events) - 1) || ?11
                  ELSE remotetask_append_events(events, ?13, ?14, ?15)
             END
WHERE id = ?1 AND token = ?2;

-- name: finish_one
-- finish_job for a write of one end (most of them), which tells at once
-- what else the end owes: notify, the URL of a completion call (only
-- for a job that has one, and ends here, is notify_end run), and
-- waited, whether any edge of the job is still to be counted
-- (uncounted_ends, through dependencies_after; most jobs have none, and
-- then nothing of their dependents is looked at). One statement instead
-- of three: the Python around each of the other two cost more than
-- SQLite's work on it. As finish_runs (once per job), its parameters
-- are numbered, bound from the run's own tuple (sqlitefinish.py), and
-- the run's events are appended in SQL while the stored ones are far
-- from their bound:
--   ?1 id, ?2 token, ?3 status, ?4 output, ?5 error, ?6 traceback,
--   ?7 now, ?8 due, ?9 attempt, ?10 event, ?11 progress, ?12 started,
--   ?13 startEvent (given its attempt number here), ?14 keep,
--   ?15 server, ?16 the longest events that two more keep within ?14.
UPDATE jobs
SET status = coalesce(?3, status), output = ?4, error = ?5,
    progress = CASE WHEN ?12 IS NULL THEN coalesce(?11, progress)
                    ELSE ?11 END,
    started = coalesce(?12, started),
    attempts = attempts + (?12 IS NOT NULL),
    server = CASE WHEN ?12 IS NULL THEN server ELSE ?15 END,
    traceback = ?6, completed = ?7, token = NULL,
    due = CASE WHEN ?3 = 'queued' THEN ?8 ELSE due END,
    history = CASE WHEN ?9 IS NULL THEN history
                   ELSE json_insert(coalesce(history, '[]'), '$[#]',
                                    json(?9)) END,
    events = CASE WHEN length(events) BETWEEN 3 AND ?16
                  THEN substr(events, 1, length(events) - 1)
                       || coalesce(',' || json_set(?13, '$.attempt',
                                                   attempts + 1), '')
                       || coalesce(',' || ?10, '') || ']'
                  ELSE remotetask_append_events(
                      events, json_set(?13, '$.attempt', attempts + 1),
                      ?10, ?14)
             END
WHERE id = ?1 AND token = ?2
RETURNING notify,
          EXISTS (SELECT 1 FROM dependencies AS edge
                  WHERE edge.after = jobs.id AND edge.ended = 0) AS waited;

-- name: held_claims
-- The claims of the jobs :ids (a JSON array) as they stand, read before
-- a batch's ends are recorded: which runs still hold their job's claim,
-- which jobs owe a completion call when they end, and the attempts
-- counted (a start recorded with its end is the next one).
SELECT id, token, notify, attempts FROM jobs
WHERE id IN (SELECT value FROM json_each(:ids));

-- name: release_job
-- A run given up before its end goes back to the queue (cron jobs keep
-- their status and simply wait for their next due time). A run that had
-- started (:started is 1) gives its attempt back: the server stopping is
-- not the job's failure.
UPDATE jobs
SET status = CASE status WHEN 'processing' THEN 'queued' ELSE status END,
    token = NULL, attempts = max(0, attempts - :started),
    events = remotetask_append_event(events, :event, :keep)
WHERE id = :id AND token = :token;

-- name: release_claims
-- The jobs of claims whose commit was lost (:tokens, a JSON array): they
-- may have been claimed without anyone to run them. As release_job, for
-- runs that never started.
UPDATE jobs
SET status = CASE status WHEN 'processing' THEN 'queued' ELSE status END,
    token = NULL
WHERE token IN (SELECT value FROM json_each(:tokens));

-- name: requeue_claimed
-- Claims left by a run of the server that ended without finishing them:
-- those made before :before when given (not the running server's own).
UPDATE jobs
SET status = :to, token = NULL,
    events = remotetask_append_event(events, :event, :keep)
WHERE status = :status AND token IS NOT NULL
  AND (:before IS NULL OR claimed IS NULL OR claimed < :before);

-- name: set_schedule
UPDATE jobs SET schedule = :schedule, due = NULL WHERE id = :id;

-- name: purge_jobs
-- Retention: at most :limit jobs of one finished status that ended before
-- :before, so that a large purge is many short transactions. A job that
-- an unfinished one waits for stays (through dependencies_after), so that
-- the graph stays whole and a job given pass finds every result.
DELETE FROM jobs WHERE id IN (
    SELECT id FROM jobs
    WHERE (status = 'completed' OR status = 'error' OR status = 'cancelled')
      AND status = :status AND completed < :before
      AND NOT EXISTS (
          SELECT 1 FROM dependencies AS edge
          JOIN jobs AS waiting ON waiting.id = edge.job
          WHERE edge.after = jobs.id
            AND waiting.status NOT IN ('completed', 'error', 'cancelled'))
    LIMIT :limit);

-- name: clean_jobs
-- One set-based delete, through jobs_by_status_task; :statuses is a JSON
-- array.
-- Keeps a job that an unfinished one waits for, as purge_jobs does.
DELETE FROM jobs WHERE status IN (SELECT value FROM json_each(:statuses))
  AND NOT EXISTS (
      SELECT 1 FROM dependencies AS edge
      JOIN jobs AS waiting ON waiting.id = edge.job
      WHERE edge.after = jobs.id
        AND waiting.status NOT IN ('completed', 'error', 'cancelled'));

-- name: count_by_status_and_task
-- For the dashboard and /metrics: reads jobs_by_status_task, not the rows.
SELECT status, task, count(*) AS count FROM jobs GROUP BY status, task;

-- name: oldest_queued
-- Since when the oldest due queued job has waited (one that waited for a
-- due time, a retry or a delayed add: since then), through
-- jobs_by_status_task: the oldest due one of each queued task (a loose
-- index scan over the tasks, then a walk of each in id order), and the
-- oldest of those. With priorities and limits it need not be the next
-- one claimed.
WITH RECURSIVE tasks (task) AS (
    SELECT min(task) FROM jobs WHERE status = 'queued'
    UNION ALL
    SELECT (SELECT min(task) FROM jobs
            WHERE status = 'queued' AND task > tasks.task)
    FROM tasks WHERE tasks.task IS NOT NULL)
SELECT coalesce(due, created) AS since FROM jobs WHERE id IN (
    SELECT (SELECT id FROM jobs
            WHERE status = 'queued' AND task = tasks.task
              AND (due IS NULL OR due <= :now)
            ORDER BY id LIMIT 1)
    FROM tasks WHERE tasks.task IS NOT NULL)
ORDER BY id LIMIT 1;

-- name: newest_jobs
-- A page of previews, newest first, below the keyset cursor :before:
-- never an OFFSET, so a page deep in a million jobs costs what the first
-- does. bounds looks at no more than :scan candidates through an index
-- (here the primary key; the two queries below use jobs_by_status_task)
-- and says how far that went: floor, the lowest id looked at, and how
-- many were. matches then reads that range of the same index and
-- keeps those that pass the filters it does not serve (:task beside
-- :status, :text, which is lower case). A look that matched nothing
-- yields one row with floor and scanned alone, so the store can tell where
-- the next page starts (remotetask/store/paging.py).
WITH bounds AS (
    SELECT min(id) AS floor, count(*) AS scanned
    FROM (SELECT id FROM jobs
          WHERE id < :before
          ORDER BY id DESC LIMIT :scan) AS candidates),
matches AS (
    SELECT id, task, status, created, started, completed, due, attempts,
           missed, progress, substr(input, 1, 200) AS input,
           substr(error, 1, 200) AS error
    FROM jobs
    WHERE id < :before
      AND id >= (SELECT floor FROM bounds)
      AND (:task IS NULL OR task = :task)
      AND (:text IS NULL
           OR instr(lower(input), :text) > 0
           OR instr(lower(error), :text) > 0)
    ORDER BY id DESC LIMIT :limit)
SELECT bounds.floor, bounds.scanned, matches.*
FROM bounds LEFT JOIN matches ON 1
ORDER BY matches.id DESC;

-- name: newest_jobs_by_status
-- The same, through jobs_by_status_task: the candidates are the newest
-- :scan of the newest :scan of each task of :status (:task alone when
-- given), read from the index alone as find_jobs_by_status reads them;
-- the matches are read among them, by id.
WITH RECURSIVE tasks (task) AS (
    SELECT coalesce(:task, (SELECT min(task) FROM jobs
                            WHERE status = :status))
    UNION ALL
    SELECT (SELECT min(task) FROM jobs
            WHERE status = :status AND task > tasks.task)
    FROM tasks WHERE tasks.task IS NOT NULL AND :task IS NULL),
reach AS (
    SELECT task, (SELECT id FROM jobs
                  WHERE status = :status AND task = tasks.task
                    AND id < :before
                  ORDER BY id DESC LIMIT 1 OFFSET :scan - 1) AS last
    FROM tasks WHERE task IS NOT NULL),
candidates AS (
    SELECT job.id FROM reach JOIN jobs AS job
        ON job.status = :status AND job.task = reach.task
       AND job.id < :before AND job.id >= coalesce(reach.last, 0)
    ORDER BY job.id DESC LIMIT :scan),
bounds AS (
    SELECT min(id) AS floor, count(*) AS scanned FROM candidates),
matches AS (
    SELECT id, task, status, created, started, completed, due, attempts,
           missed, progress, substr(input, 1, 200) AS input,
           substr(error, 1, 200) AS error
    FROM jobs
    WHERE id IN (SELECT id FROM candidates)
      AND (:text IS NULL
           OR instr(lower(input), :text) > 0
           OR instr(lower(error), :text) > 0)
    ORDER BY id DESC LIMIT :limit)
SELECT bounds.floor, bounds.scanned, matches.*
FROM bounds LEFT JOIN matches ON 1
ORDER BY matches.id DESC;

-- name: newest_jobs_by_task
-- The same, through jobs_by_status_task (migration 13): the candidates
-- are the newest :scan of the newest :scan of the task in each of its
-- statuses (a loose index scan over the statuses, as find_jobs_by_task),
-- read from the index alone; the matches are read among them, by id.
WITH RECURSIVE statuses (status) AS (
    SELECT (SELECT min(status) FROM jobs)
    UNION ALL
    SELECT (SELECT min(status) FROM jobs WHERE status > statuses.status)
    FROM statuses WHERE statuses.status IS NOT NULL),
reach AS (
    SELECT status, (SELECT id FROM jobs
                    WHERE status = statuses.status AND task = :task
                      AND id < :before
                    ORDER BY id DESC LIMIT 1 OFFSET :scan - 1) AS last
    FROM statuses WHERE status IS NOT NULL),
candidates AS (
    SELECT job.id FROM reach JOIN jobs AS job
        ON job.status = reach.status AND job.task = :task
       AND job.id < :before AND job.id >= coalesce(reach.last, 0)
    ORDER BY job.id DESC LIMIT :scan),
bounds AS (
    SELECT min(id) AS floor, count(*) AS scanned FROM candidates),
matches AS (
    SELECT id, task, status, created, started, completed, due, attempts,
           missed, progress, substr(input, 1, 200) AS input,
           substr(error, 1, 200) AS error
    FROM jobs
    WHERE id IN (SELECT id FROM candidates)
      AND (:text IS NULL
           OR instr(lower(input), :text) > 0
           OR instr(lower(error), :text) > 0)
    ORDER BY id DESC LIMIT :limit)
SELECT bounds.floor, bounds.scanned, matches.*
FROM bounds LEFT JOIN matches ON 1
ORDER BY matches.id DESC;

-- name: retry_job
-- Queue a failed job again, due at once, with a fresh count of attempts;
-- its history keeps the failed ones. Not while another job of its task
-- holds its key (see key_holder).
UPDATE jobs
SET status = 'queued', due = NULL, token = NULL, attempts = 0,
    events = remotetask_append_event(events, :event, :keep)
WHERE id = :id AND status = 'error'
  AND NOT EXISTS (SELECT 1 FROM jobs AS other
                  WHERE other.task = jobs.task AND other.key = jobs.key
                    AND other.key IS NOT NULL
                    AND (other.status = 'queued'
                         OR other.status = 'processing'
                         OR other.status = 'start later'));

-- name: key_holder
-- The unfinished job that holds the key of job :id, if another does.
SELECT other.id FROM jobs AS job JOIN jobs AS other
  ON other.task = job.task AND other.key = job.key
WHERE job.id = :id AND other.key IS NOT NULL
  AND (other.status = 'queued' OR other.status = 'processing'
       OR other.status = 'start later');

-- name: run_now
-- Make a cron or delayed job due now, unless a run of it holds a claim;
-- :event (or NULL) says who asked.
UPDATE jobs SET due = :now,
    events = remotetask_append_event(events, :event, :keep)
WHERE id = :id AND status IN ('cronjob', 'delayed') AND token IS NULL;

-- name: job_exists
SELECT 1 AS found FROM jobs WHERE id = :id;

-- name: set_progress
-- The latest progress report of a run, only while its claim is current.
UPDATE jobs SET progress = :progress WHERE id = :id AND token = :token;

-- name: notify_end
-- The job has ended: owe its caller a completion call, due at once. A
-- job ended again (retried by hand) owes the call of its new end. ORs,
-- not IN: see migration_0012.
INSERT INTO notifications (job, url, status, since, due)
SELECT id, notify, status, completed, completed FROM jobs
WHERE id = :id AND notify IS NOT NULL
  AND (status = 'completed' OR status = 'error' OR status = 'cancelled')
ON CONFLICT (job) DO UPDATE
SET url = excluded.url, status = excluded.status, since = excluded.since,
    due = excluded.due, attempts = 0, token = NULL;

-- name: claim_notifications
-- Up to :limit due completion calls, each moved past :lease (the call's
-- time limit and some) so that no other claim takes it meanwhile; one the
-- claimer never reports on (it died) is due again after the lease.
UPDATE notifications SET due = :lease, token = :token
WHERE job IN (SELECT job FROM notifications WHERE due <= :now
              ORDER BY due LIMIT :limit)
RETURNING job, url, status, since, attempts, token;

-- name: next_notification
-- When the next completion call is due, NULL when none is owed.
SELECT min(due) AS due FROM notifications;

-- name: notification_done
-- A call was made, or given up: nothing more is owed.
DELETE FROM notifications WHERE job = :job AND token = :token;

-- name: notification_again
-- A call failed and is tried again at :due.
UPDATE notifications SET due = :due, attempts = attempts + 1, token = NULL
WHERE job = :job AND token = :token;

-- name: add_event
UPDATE jobs SET events = remotetask_append_event(events, :event, :keep)
WHERE id = :id;

-- name: count_runs
-- Runs that ended, added to this minute's counters of this server.
INSERT INTO minutes (minute, server, finished, failed)
VALUES (:minute, :server, :finished, :failed)
ON CONFLICT (minute, server) DO UPDATE
SET finished = finished + excluded.finished,
    failed = failed + excluded.failed;

-- name: sample_queue
-- The queue's depth now, counted through jobs_by_status_task (the queued
-- jobs' entries only), as this minute's sample.
INSERT INTO minutes (minute, server, queued)
VALUES (:minute, :server,
        (SELECT count(*) FROM jobs WHERE status = 'queued'))
ON CONFLICT (minute, server) DO UPDATE SET queued = excluded.queued;

-- name: minutes_since
-- The chart: every server's counters summed per minute, and the deepest
-- queue any of them saw (each samples the whole queue).
SELECT minute, sum(finished) AS finished, sum(failed) AS failed,
       max(queued) AS queued
FROM minutes WHERE minute >= :since
GROUP BY minute ORDER BY minute;

-- name: purge_minutes
DELETE FROM minutes WHERE minute < :before;

-- name: find_owned_jobs
-- A page of one caller's jobs (issue 22), through jobs_by_owner; NULL
-- parameters match anything.
SELECT * FROM jobs
WHERE addedby = :owner AND id > :after
  AND (:status IS NULL OR status = :status)
  AND (:task IS NULL OR task = :task)
ORDER BY id LIMIT :limit;

-- name: newest_owned_jobs
-- newest_jobs for one caller's jobs, through jobs_by_owner: every other
-- filter is looked at among at most :scan of its jobs.
WITH bounds AS (
    SELECT min(id) AS floor, count(*) AS scanned
    FROM (SELECT id FROM jobs
          WHERE addedby = :owner AND id < :before
          ORDER BY id DESC LIMIT :scan) AS candidates),
matches AS (
    SELECT id, task, status, created, started, completed, due, attempts,
           missed, progress, substr(input, 1, 200) AS input,
           substr(error, 1, 200) AS error
    FROM jobs
    WHERE addedby = :owner AND id < :before
      AND id >= (SELECT floor FROM bounds)
      AND (:status IS NULL OR status = :status)
      AND (:task IS NULL OR task = :task)
      AND (:text IS NULL
           OR instr(lower(input), :text) > 0
           OR instr(lower(error), :text) > 0)
    ORDER BY id DESC LIMIT :limit)
SELECT bounds.floor, bounds.scanned, matches.*
FROM bounds LEFT JOIN matches ON 1
ORDER BY matches.id DESC;

-- name: insert_api_token
-- No row back when the name is taken.
INSERT INTO api_tokens (name, digest, role, tasks, created, expires)
VALUES (:name, :digest, :role, :tasks, :now, :expires)
ON CONFLICT DO NOTHING
RETURNING name;

-- name: find_api_token
SELECT name, role, tasks, expires, lastused FROM api_tokens
WHERE digest = :digest;

-- name: list_api_tokens
SELECT name, role, tasks, created, expires, lastused FROM api_tokens
ORDER BY name;

-- name: revoke_api_token
DELETE FROM api_tokens WHERE name = :name RETURNING name;

-- name: touch_api_token
-- The token's last use, written at most once a minute per token and
-- server (remotetask/wire/tokens.py), never per call.
UPDATE api_tokens SET lastused = :now
WHERE digest = :digest RETURNING name;

-- name: migration_0010
-- Jobs that wait for other jobs (issue 21). dependencies: one row per
-- edge, job waiting for after; ended is set once after's end has been
-- counted, so that an end counts once (a job retried by hand ends again).
-- Both ends cascade: a job that goes takes its edges along (retention
-- keeps a finished job while an unfinished one waits for it: purge_jobs).
-- dependencies_after finds a job's dependents when it ends: one index
-- seek per ended job, never a scan. waits: one row per job added with
-- after; pending counts its dependencies not yet ended, so that the end
-- of the last one finds it zero without counting the others.
CREATE TABLE dependencies (
    job INTEGER NOT NULL REFERENCES jobs (id) ON DELETE CASCADE,
    after INTEGER NOT NULL REFERENCES jobs (id) ON DELETE CASCADE,
    ended INTEGER NOT NULL DEFAULT 0,
    PRIMARY KEY (job, after)
) WITHOUT ROWID;
CREATE INDEX dependencies_after ON dependencies (after, job);
CREATE TABLE waits (
    job INTEGER PRIMARY KEY REFERENCES jobs (id) ON DELETE CASCADE,
    pending INTEGER NOT NULL,
    onfailure TEXT NOT NULL,
    pass INTEGER NOT NULL
);

-- name: dependency_states
-- The jobs a new job is to wait for (:ids, a JSON array), read inside the
-- add's transaction (one writer at a time: they cannot end meanwhile).
SELECT id, task, status, schedule FROM jobs
WHERE id IN (SELECT value FROM json_each(:ids));

-- name: insert_dependencies
-- The edges of a new waiting job; those of :ended (its dependencies that
-- had already ended when it was added) are counted already.
INSERT INTO dependencies (job, after, ended)
SELECT :job, value, value IN (SELECT value FROM json_each(:ended))
FROM json_each(:after);

-- name: insert_wait
INSERT INTO waits (job, pending, onfailure, pass)
VALUES (:job, :pending, :onfailure, :pass);

-- name: count_end
-- The jobs :ids (a JSON array) ended: their edges not counted yet,
-- through dependencies_after, now counted; their dependents come back
-- (see count_down).
UPDATE dependencies SET ended = 1
WHERE after IN (SELECT value FROM json_each(:ids)) AND ended = 0
RETURNING job, after;

-- name: uncounted_ends
-- Whether any edge of the jobs :ids (a JSON array) is still to be counted
-- (count_end), through dependencies_after: most ended jobs have none,
-- and this read costs a third of count_end (whose RETURNING, and IN
-- list of :ids built into a b-tree, cost more than its search). A join,
-- not IN (SELECT ...), for the same reason.
SELECT EXISTS (SELECT 1 FROM json_each(:ids) AS ended
               JOIN dependencies AS edge ON edge.after = ended.value
                                        AND edge.ended = 0) AS found;

-- name: count_down
-- :n more of the job's dependencies have ended.
UPDATE waits SET pending = pending - :n
WHERE job = :job
RETURNING job, pending, onfailure, pass;

-- name: passed_results
-- What a job given pass receives: every dependency's output, by id.
SELECT job.id, job.status, job.output
FROM dependencies AS edge JOIN jobs AS job ON job.id = edge.after
WHERE edge.job = :job ORDER BY job.id;

-- name: leave_waiting
-- The job waits no more: queued once its dependencies have ended (with
-- the input joined to their results when :input is given), or ended
-- without a run, cancelled (a dependency failed) or error (its joined
-- input is too large), at :now. Only while it waits. Returns notify, to
-- tell whether an end owes a completion call.
UPDATE jobs
SET status = :status, input = coalesce(:input, input), error = :error,
    completed = CASE WHEN :status = 'queued' THEN completed ELSE :now END,
    events = remotetask_append_event(events, :event, :keep)
WHERE id = :id AND status = 'waiting'
RETURNING notify;

-- name: job_dependencies
-- The jobs :id waits (or waited) for, through the primary key.
SELECT job.id, job.task, job.status
FROM dependencies AS edge JOIN jobs AS job ON job.id = edge.after
WHERE edge.job = :id ORDER BY job.id LIMIT :limit;

-- name: job_dependents
-- The jobs that wait (or waited) for :id, through dependencies_after.
SELECT job.id, job.task, job.status
FROM dependencies AS edge JOIN jobs AS job ON job.id = edge.job
WHERE edge.after = :id ORDER BY job.id LIMIT :limit;

-- name: migration_0011
-- One status index instead of two (issue 18): every status change
-- rewrote an entry in each, two of the dozen pages a job writes to the
-- log. jobs_by_status_task keeps every row by (status, task) and, as
-- every SQLite index, the id after them: counts and limits read it as
-- before, and a status's jobs in id order are the merge of its tasks'
-- (find_jobs_by_status, newest_jobs_by_status, oldest_queued), one seek
-- per task of that status.
DROP INDEX jobs_by_status;

-- name: migration_0012
-- The partial indexes' conditions as ORs rather than IN lists (issue 18).
-- SQLite tests an IN list of more than two constants by building a
-- temporary b-tree of them, anew for every statement that runs it, and
-- every insert or status change tests the condition of each partial index
-- (twice for an update: the row before and after): sixteen b-trees made
-- and dropped per job, a tenth of the CPU of its statements. ORs are
-- compared one by one. The queries that read these indexes repeat their
-- conditions word for word (SQLite uses a partial index only for a WHERE
-- that holds one of its terms): keyed_job, key_holder, retry_job,
-- purge_jobs.
DROP INDEX jobs_finished;
CREATE INDEX jobs_finished ON jobs (status, completed)
    WHERE status = 'completed' OR status = 'error' OR status = 'cancelled';
DROP INDEX jobs_key;
CREATE UNIQUE INDEX jobs_key ON jobs (task, key)
    WHERE key IS NOT NULL
      AND (status = 'queued' OR status = 'processing'
           OR status = 'start later');

-- name: migration_0013
-- No index by task alone (issue 18): every add wrote an entry to it, one
-- of the five pages an add's transaction writes to the log, for a list
-- of one task's jobs now and then. jobs_by_status_task serves that list
-- as it serves a status's (find_jobs_by_task, newest_jobs_by_task): one
-- seek per status of the task, of which there are a few.
DROP INDEX jobs_by_task;
