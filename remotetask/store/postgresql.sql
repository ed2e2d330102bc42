-- The PostgreSQL job store's queries. Parameters are psycopg's named
-- placeholders (%(id)s); times are epoch seconds as double precision, so a
-- row reads back exactly as written. See remotetask/interfaces.py IJobStore
-- for what each operation promises. Every name starts with remotetask_ so
-- the store can share a database with other applications.
-- (No percent sign may appear inside a query below, comments included:
-- psycopg would read it as a placeholder.)

-- name: lock_schema
-- Taken before looking at the schema version, so that several servers
-- starting at once migrate once: the others wait here, then find the work
-- done. Released when the transaction ends. The key is the ASCII of
-- "remotask", unlikely to be used by anything else in the database.
SELECT pg_advisory_xact_lock(8243115018432901995);

-- name: create_schema_table
-- Which migrations have run, one row each. Made here rather than in a
-- migration because the migrations are chosen by what it says.
CREATE TABLE IF NOT EXISTS remotetask_schema (
    version integer PRIMARY KEY,
    applied timestamptz NOT NULL DEFAULT now()
);

-- name: schema_version
SELECT coalesce(max(version), 0) AS version FROM remotetask_schema;

-- name: record_migration
INSERT INTO remotetask_schema (version) VALUES (%(version)s);

-- name: migration_0001
-- The jobs table. An identity never hands out a number twice, so ids are
-- not reused after clean(); MAXVALUE keeps them within XML-RPC's 32-bit
-- int. owner is the serverId of the server holding the current claim.
CREATE TABLE remotetask_jobs (
    id integer GENERATED ALWAYS AS IDENTITY (MAXVALUE 2147483647)
        PRIMARY KEY,
    task text NOT NULL,
    status text NOT NULL,
    input text,
    output text,
    error text,
    traceback text,
    created double precision NOT NULL,
    started double precision,
    completed double precision,
    schedule text,
    due double precision,
    attempts integer NOT NULL DEFAULT 0,
    token text,
    owner text
);
-- Claiming the oldest queued job, listing and cleaning by status.
CREATE INDEX remotetask_jobs_by_status ON remotetask_jobs (status, id);
-- Due cron and delayed jobs; partial, so it holds only those few rows.
CREATE INDEX remotetask_jobs_scheduled ON remotetask_jobs (status, due)
    WHERE status IN ('cronjob', 'delayed');
-- Listing by task.
CREATE INDEX remotetask_jobs_by_task ON remotetask_jobs (task, id);
-- The servers sharing this database and when each last said it was alive;
-- the claims of a server that stopped saying so can be taken back.
CREATE TABLE remotetask_servers (
    id text PRIMARY KEY,
    heartbeat double precision NOT NULL
);

-- name: migration_0002
-- Every failed attempt of a job (a JSON array of {attempt, error,
-- started, completed}), so that retries keep what went wrong each time.
ALTER TABLE remotetask_jobs ADD COLUMN history text;

-- name: migration_0003
-- How many due times of a cron job passed without a run (the servers
-- were down, or the job's misfire policy skipped them).
ALTER TABLE remotetask_jobs ADD COLUMN missed integer NOT NULL DEFAULT 0;

-- name: migration_0004
-- Retention finds old finished jobs by status and end time; partial, so
-- the many queue updates of unfinished jobs do not maintain it.
CREATE INDEX remotetask_jobs_finished ON remotetask_jobs (status, completed)
    WHERE status IN ('completed', 'error', 'cancelled');

-- name: migration_0005
-- Counting jobs by status and task (the dashboard, /metrics) reads this
-- index (an index-only scan) instead of every row, for one more index
-- entry to keep per add and status change.
CREATE INDEX remotetask_jobs_by_status_task
    ON remotetask_jobs (status, task);

-- name: migration_0006
-- When the current claim was made. A claimed job may wait beside the
-- workers before it starts (and its attempt is counted only then), so the
-- recovery of a lost server's claims goes by this, not by started.
ALTER TABLE remotetask_jobs ADD COLUMN claimed double precision;

-- name: migration_0007
-- Queues that route, rank, limit and deduplicate. priority: higher is
-- claimed first. key: while an unfinished job of a task has a key, adding
-- another with it returns that job (remotetask_jobs_key makes this atomic
-- between servers). due, which a retry already had, now also holds an
-- add's delay. maxattempts: the job's own, over its task's. server: the
-- server that last started a run of the job, kept after the run ends
-- (owner is cleared then).
ALTER TABLE remotetask_jobs
    ADD COLUMN priority integer NOT NULL DEFAULT 0,
    ADD COLUMN key text,
    ADD COLUMN maxattempts integer,
    ADD COLUMN server text;
-- Claims seek each served task's queue in the order they take jobs:
-- partial, so it holds the queued jobs alone, however many have ended.
CREATE INDEX remotetask_jobs_queued
    ON remotetask_jobs (task, priority DESC, id) WHERE status = 'queued';
-- At most one unfinished job per task and key.
CREATE UNIQUE INDEX remotetask_jobs_key ON remotetask_jobs (task, key)
    WHERE key IS NOT NULL
      AND status IN ('queued', 'processing', 'start later');
-- The tasks each server serves, {name: description}, beside its
-- heartbeat: an add is accepted for a task some live server serves.
ALTER TABLE remotetask_servers ADD COLUMN tasks jsonb NOT NULL DEFAULT '{}';
-- One row per limited task. Every claim that may take a limited task's
-- jobs locks its row first (claim_limited_tasks), so such claims follow
-- one another across the servers, and each counts the runs of the others.
-- starts: the task's last starts, for its rate (oldest first, at most as
-- many as the rate allows).
CREATE TABLE remotetask_limits (
    task text PRIMARY KEY,
    starts double precision[] NOT NULL DEFAULT '{}'
);

-- name: migration_0008
-- What a caller sees of one job (issue 13). progress: the latest progress
-- report, JSON {fraction, message, at}. events: the job's history, an
-- array oldest first, bounded (remotetask/core/events.py), appended by
-- the statement that makes each change. notify: the URL told of the end.
ALTER TABLE remotetask_jobs
    ADD COLUMN progress text,
    ADD COLUMN events jsonb,
    ADD COLUMN notify text;
-- Appends event to events, keeping at most keep of them: the first
-- ("added") and the latest. NULL event: events unchanged.
CREATE FUNCTION remotetask_append_event(events jsonb, event jsonb,
                                        keep integer)
RETURNS jsonb LANGUAGE sql IMMUTABLE AS $$
    SELECT CASE
        WHEN event IS NULL THEN events
        WHEN jsonb_array_length(coalesce(events, '[]')) >= keep
            THEN (events - 1) || jsonb_build_array(event)
        ELSE coalesce(events, '[]') || jsonb_build_array(event)
    END
$$;
-- Completion calls still to be made, one per job, written in the
-- transaction that ends the job so that a call outstanding when a server
-- stops is made after a start (by any server). A claim (SKIP LOCKED)
-- moves due past the call's lease, so each call is made by one server at
-- a time; a row goes once its call was made or given up, and with its job.
CREATE TABLE remotetask_notifications (
    job integer PRIMARY KEY
        REFERENCES remotetask_jobs (id) ON DELETE CASCADE,
    url text NOT NULL,
    status text NOT NULL,
    since double precision NOT NULL,
    due double precision NOT NULL,
    attempts integer NOT NULL DEFAULT 0,
    token text
);
CREATE INDEX remotetask_notifications_due ON remotetask_notifications (due);
-- The dashboard's chart: runs that ended per minute (finished: ok,
-- failed: a failure, retried or not) and the queue's depth sampled in
-- that minute, one row per minute and server (so that servers never
-- wait on each other's counters), counted in the transactions that
-- record the ends: never a scan of the jobs.
CREATE TABLE remotetask_minutes (
    minute bigint NOT NULL,
    server text NOT NULL,
    finished bigint NOT NULL DEFAULT 0,
    failed bigint NOT NULL DEFAULT 0,
    queued bigint,
    PRIMARY KEY (minute, server)
);

-- name: migration_0009
-- Callers and their rights (issue 22). addedby: the user or API token
-- that added the job (a cron job's runs are the cron job's own row, so
-- they are its adder's); NULL for jobs added before, or on an open
-- server. (owner, an older column, is the server holding a claim.)
ALTER TABLE remotetask_jobs ADD COLUMN addedby text;
-- A caller's own jobs, in id order; partial, so an open server's jobs
-- (no owner) cost it nothing.
CREATE INDEX remotetask_jobs_by_owner ON remotetask_jobs (addedby, id)
    WHERE addedby IS NOT NULL;
-- API tokens (remotetask token create), known at once to every server
-- sharing the store: only the SHA-256 of each token (digest, hex) is
-- kept, never the token; tasks is a JSON array of the task names a
-- caller may add (["*"]: all); expires and lastused are epoch seconds
-- (NULL: never).
CREATE TABLE remotetask_api_tokens (
    name text PRIMARY KEY,
    digest text NOT NULL UNIQUE,
    role text NOT NULL,
    tasks text NOT NULL,
    created double precision NOT NULL,
    expires double precision,
    lastused double precision
);

-- name: insert_job
-- One round trip for the row and the wake-up of the other servers' idle
-- workers; PostgreSQL delivers the notification only if this commits. No
-- row back when the key is taken (remotetask_jobs_key), by a job committed
-- or by one whose transaction this waited for: see keyed_job. %(event)s
-- (JSON, or NULL) is the job's first event, "added".
WITH job AS (
    INSERT INTO remotetask_jobs (task, status, input, schedule, created,
                                 priority, key, due, maxattempts, notify,
                                 addedby, events)
    VALUES (%(task)s, %(status)s, %(input)s, %(schedule)s, %(now)s,
            %(priority)s, %(key)s, %(due)s, %(maxattempts)s, %(notify)s,
            %(owner)s, remotetask_append_event(NULL, %(event)s::jsonb, %(keep)s))
    ON CONFLICT DO NOTHING
    RETURNING id)
SELECT id, pg_notify('remotetask_jobs', '') AS woken FROM job;

-- name: keyed_job
-- The unfinished job of a task that holds a key. A statement of its own,
-- after insert_job found the key taken: its snapshot then includes the
-- job that took it (insert_job's may not, having waited for its commit).
SELECT id FROM remotetask_jobs
WHERE task = %(task)s AND key = %(key)s
  AND status IN ('queued', 'processing', 'start later');

-- name: insert_jobs
-- A batch in one statement; ids are drawn in the order of n, the position
-- in the batch, so the ids sorted are the entries in order. (A batch with
-- keys goes through insert_job, one entry at a time.)
INSERT INTO remotetask_jobs (task, status, input, schedule, created,
                             priority, due, maxattempts, notify, addedby,
                             events)
SELECT task, status, input, schedule, %(now)s, priority, due, maxattempts,
       notify, addedby,
       remotetask_append_event(NULL, %(event)s::jsonb, %(keep)s)
FROM unnest(%(tasks)s::text[], %(statuses)s::text[], %(inputs)s::text[],
            %(schedules)s::text[], %(priorities)s::integer[],
            %(dues)s::double precision[], %(maxattempts)s::integer[],
            %(notifies)s::text[], %(owners)s::text[])
     WITH ORDINALITY
     AS entry (task, status, input, schedule, priority, due, maxattempts,
               notify, addedby, n)
ORDER BY n
RETURNING id;

-- name: notify_jobs
-- Wake the listeners (see listen()) when this transaction commits: a job
-- may be claimable that was not.
SELECT pg_notify('remotetask_jobs', '');

-- name: notify_finished
-- Tell every server that a job ended, so that a client waiting for it on
-- another server hears at once, and a server running it stops it if it
-- was cancelled. The payload is "id:status".
SELECT pg_notify('remotetask_finished', %(id)s::text || ':' || %(status)s);

-- name: listen_jobs
LISTEN remotetask_jobs;

-- name: listen_finished
LISTEN remotetask_finished;

-- name: get_job
SELECT id, task, status, input, output, error, traceback, created, started,
       completed, schedule, due, attempts, token, history, missed, claimed,
       priority, key, maxattempts, server,
       progress, events::text AS events, notify, addedby
FROM remotetask_jobs WHERE id = %(id)s;

-- name: job_exists
SELECT 1 AS found FROM remotetask_jobs WHERE id = %(id)s;

-- name: job_ids
-- A page of ids for iterating over a large store; LIMIT NULL is no limit.
SELECT id FROM remotetask_jobs WHERE id > %(after)s ORDER BY id
LIMIT %(limit)s;

-- name: count_jobs
SELECT count(*) AS count FROM remotetask_jobs;

-- name: find_jobs
SELECT id, task, status, input, output, error, traceback, created, started,
       completed, schedule, due, attempts, token, history, missed, claimed,
       priority, key, maxattempts, server,
       progress, events::text AS events, notify, addedby
FROM remotetask_jobs WHERE id > %(after)s
ORDER BY id LIMIT %(limit)s;

-- name: find_jobs_by_status
-- Through remotetask_jobs_by_status; a NULL task matches any.
SELECT id, task, status, input, output, error, traceback, created, started,
       completed, schedule, due, attempts, token, history, missed, claimed,
       priority, key, maxattempts, server,
       progress, events::text AS events, notify, addedby
FROM remotetask_jobs
WHERE status = %(status)s AND id > %(after)s
  AND (%(task)s::text IS NULL OR task = %(task)s)
ORDER BY id LIMIT %(limit)s;

-- name: find_jobs_by_task
SELECT id, task, status, input, output, error, traceback, created, started,
       completed, schedule, due, attempts, token, history, missed, claimed,
       priority, key, maxattempts, server,
       progress, events::text AS events, notify, addedby
FROM remotetask_jobs WHERE task = %(task)s AND id > %(after)s
ORDER BY id LIMIT %(limit)s;

-- name: get_statuses
-- The statuses of many jobs at once, for whoever watches many (waiters,
-- running jobs that may have been cancelled on another server).
SELECT id, status FROM remotetask_jobs WHERE id = ANY (%(ids)s::integer[]);

-- name: transition_job
-- A compare-and-set in one statement; no row back means the status was
-- not one of those allowed, or there is no such job (see job_exists).
-- A job that ends here (cancelled) ended now: completed is its end, for
-- retention and for the completion call.
UPDATE remotetask_jobs
SET status = %(to)s, token = NULL, owner = NULL,
    completed = CASE WHEN %(to)s IN ('completed', 'error', 'cancelled')
                     THEN coalesce(%(now)s::double precision, completed)
                     ELSE completed END,
    events = remotetask_append_event(events, %(event)s::jsonb, %(keep)s)
WHERE id = %(id)s AND status = ANY (%(allowed)s::text[])
RETURNING id, notify;

-- name: unscheduled_jobs
-- Cron and delayed jobs no claim has seen yet. Locked, so that two
-- servers do not both compute the first due time; a job another server
-- is scheduling right now is left to it.
SELECT id, task, status, input, output, error, traceback, created, started,
       completed, schedule, due, attempts, token, history, missed, claimed,
       priority, key, maxattempts, server,
       progress, events::text AS events, notify
FROM remotetask_jobs
WHERE status IN ('cronjob', 'delayed') AND due IS NULL
ORDER BY id
FOR UPDATE SKIP LOCKED;

-- name: set_due
UPDATE remotetask_jobs SET due = %(due)s WHERE id = %(id)s;

-- name: due_cron_job
-- The cron job due first among %(tasks)s (those this server serves whose
-- limits allow one more run), locked until the claim commits; one being
-- claimed by another server is skipped, not waited for.
SELECT id, task, status, input, output, error, traceback, created, started,
       completed, schedule, due, attempts, token, history, missed, claimed,
       priority, key, maxattempts, server,
       progress, events::text AS events, notify
FROM remotetask_jobs
WHERE status = 'cronjob' AND due <= %(now)s
  AND task = ANY (%(tasks)s::text[])
ORDER BY due, id LIMIT 1
FOR UPDATE SKIP LOCKED;

-- name: claim_cron_job
-- Moves due on before the run, and only from the due time that was read:
-- each due time is handed out once, whichever server asks. %(started)s,
-- when given, marks the run started at once (see claim_queued_jobs).
UPDATE remotetask_jobs
SET due = %(next)s, token = %(token)s, owner = %(owner)s,
    claimed = %(claimed)s,
    started = coalesce(%(started)s::double precision, started),
    attempts = attempts
               + CASE WHEN %(started)s::double precision IS NULL
                      THEN 0 ELSE 1 END,
    server = CASE WHEN %(started)s::double precision IS NULL
                  THEN server ELSE %(owner)s END,
    progress = CASE WHEN %(started)s::double precision IS NULL
                    THEN progress END,
    events = remotetask_append_event(
        events, %(event)s::jsonb || jsonb_build_object('attempt',
                                                        attempts + 1),
        %(keep)s)
WHERE id = %(id)s AND due = %(due)s
RETURNING id, task, status, input, output, error, traceback, created,
          started, completed, schedule, due, attempts, token, history,
          missed, claimed, priority, key, maxattempts, server,
          progress, events::text AS events, notify;

-- name: claim_delayed_jobs
-- Due delayed jobs, soonest first, at most allowed[i] of tasks[i] (the
-- tasks this claim may take, and how many of each): for each task, a walk
-- of remotetask_jobs_scheduled in due order, SKIP LOCKED so that
-- concurrent claims each take different jobs instead of queueing behind
-- the same rows; the few candidates are then ranked.
UPDATE remotetask_jobs
SET status = 'processing', token = %(token)s, owner = %(owner)s,
    claimed = %(claimed)s,
    started = coalesce(%(started)s::double precision, started),
    attempts = attempts
               + CASE WHEN %(started)s::double precision IS NULL
                      THEN 0 ELSE 1 END,
    server = CASE WHEN %(started)s::double precision IS NULL
                  THEN server ELSE %(owner)s END,
    progress = CASE WHEN %(started)s::double precision IS NULL
                    THEN progress END,
    events = remotetask_append_event(
        events, %(event)s::jsonb || jsonb_build_object('attempt',
                                                        attempts + 1),
        %(keep)s)
WHERE id IN (
    SELECT candidate.id
    FROM unnest(%(tasks)s::text[], %(allowed)s::integer[])
         AS served (task, allowed)
    CROSS JOIN LATERAL (
        SELECT id, due FROM remotetask_jobs
        WHERE status = 'delayed' AND due <= %(now)s AND task = served.task
        ORDER BY due, id
        LIMIT served.allowed
        FOR UPDATE SKIP LOCKED) AS candidate
    ORDER BY candidate.due, candidate.id
    LIMIT %(limit)s)
RETURNING id, task, status, input, output, error, traceback, created,
          started, completed, schedule, due, attempts, token, history,
          missed, claimed, priority, key, maxattempts, server,
          progress, events::text AS events, notify;

-- name: claim_queued_jobs
-- Up to %(limit)s queued jobs that are due (a retry or a delayed add may
-- wait until later), highest priority first, then oldest, in one
-- statement. tasks and allowed are parallel arrays: the tasks this claim
-- may take, each with how many of its jobs (what its limits leave;
-- %(limit)s for a task without any), so that a task held back by a limit
-- is left out, or takes fewer, and never stands in the way of another
-- task's jobs. Each task's queue is one seek of remotetask_jobs_queued,
-- SKIP LOCKED so that concurrent claims of other servers each take
-- different jobs; the few candidates are then ranked. %(started)s, when
-- given, marks them started at once (attempts + 1); NULL leaves that to
-- mark_started, for jobs that wait beside the workers before they start,
-- so that a job never started is not counted as an attempt if its server
-- dies. %(event)s (with %(started)s) is the "started" event, given its
-- attempt number here.
UPDATE remotetask_jobs
SET status = 'processing', token = %(token)s, owner = %(owner)s,
    claimed = %(claimed)s,
    started = coalesce(%(started)s::double precision, started),
    attempts = attempts
               + CASE WHEN %(started)s::double precision IS NULL
                      THEN 0 ELSE 1 END,
    server = CASE WHEN %(started)s::double precision IS NULL
                  THEN server ELSE %(owner)s END,
    progress = CASE WHEN %(started)s::double precision IS NULL
                    THEN progress END,
    events = remotetask_append_event(
        events, %(event)s::jsonb || jsonb_build_object('attempt',
                                                        attempts + 1),
        %(keep)s)
WHERE id IN (
    SELECT candidate.id
    FROM unnest(%(tasks)s::text[], %(allowed)s::integer[])
         AS served (task, allowed)
    CROSS JOIN LATERAL (
        SELECT id, priority FROM remotetask_jobs
        WHERE status = 'queued' AND task = served.task
          AND (due IS NULL OR due <= %(now)s)
        ORDER BY priority DESC, id
        LIMIT served.allowed
        FOR UPDATE SKIP LOCKED) AS candidate
    ORDER BY candidate.priority DESC, candidate.id
    LIMIT %(limit)s)
RETURNING id, task, status, input, output, error, traceback, created,
          started, completed, schedule, due, attempts, token, history,
          missed, claimed, priority, key, maxattempts, server,
          progress, events::text AS events, notify;

-- name: claimable_tasks
-- The tasks of the queued, cron and delayed jobs, for a claim that may
-- take any task: one seek of remotetask_jobs_queued per task (a loose
-- index scan), and the few scheduled jobs.
WITH RECURSIVE queued (task) AS (
    SELECT min(task) FROM remotetask_jobs WHERE status = 'queued'
    UNION ALL
    SELECT (SELECT min(task) FROM remotetask_jobs
            WHERE status = 'queued' AND task > queued.task)
    FROM queued WHERE queued.task IS NOT NULL)
SELECT task FROM queued WHERE task IS NOT NULL
UNION
SELECT task FROM remotetask_jobs WHERE status IN ('cronjob', 'delayed');

-- name: limited_with_work
-- Those of the limited %(tasks)s that have a job this claim could take: a
-- due queued one (through remotetask_jobs_queued) or, when %(scheduled)s,
-- a due cron or delayed one. The claim locks the rows of these alone and
-- leaves the others out, so that a limited task with nothing to do never
-- makes the servers' claims wait for one another.
SELECT limited.task FROM unnest(%(tasks)s::text[]) AS limited (task)
WHERE EXISTS (SELECT 1 FROM remotetask_jobs
              WHERE status = 'queued' AND task = limited.task
                AND (due IS NULL OR due <= %(now)s))
   OR (%(scheduled)s AND EXISTS (
           SELECT 1 FROM remotetask_jobs
           WHERE status IN ('cronjob', 'delayed') AND task = limited.task
             AND due <= %(now)s))
ORDER BY limited.task;

-- name: add_limited_tasks
-- The rows claim_limited_tasks locks, made where missing (a server makes
-- its limited tasks' when it starts).
INSERT INTO remotetask_limits (task)
SELECT unnest(%(tasks)s::text[])
ON CONFLICT (task) DO NOTHING;

-- name: claim_limited_tasks
-- Lock the rows of the limited tasks a claim may take, in the order of
-- their names (so that two claims never wait for each other in a
-- circle), until the claim commits: every claim of a limited task's jobs,
-- on any server, takes its row first, so they follow one another. Reads
-- the latest starts of each. A statement of its own, before
-- running_counts: in READ COMMITTED each statement sees what committed
-- before it began, so the counts read after this lock include the runs
-- of the claim that held it last.
SELECT task, starts FROM remotetask_limits
WHERE task = ANY (%(tasks)s::text[])
ORDER BY task
FOR UPDATE;

-- name: running_counts
-- How many runs of each of the limited %(tasks)s hold a claim: processing
-- jobs, and cron jobs whose run is claimed; through
-- remotetask_jobs_by_status_task.
SELECT task, count(*) AS running FROM remotetask_jobs
WHERE status IN ('processing', 'cronjob') AND task = ANY (%(tasks)s::text[])
  AND (status = 'processing' OR token IS NOT NULL)
GROUP BY task;

-- name: save_rate_starts
-- The rate-limited tasks' last starts after a claim; the arrays are
-- parallel (task, its starts as a JSON array).
UPDATE remotetask_limits AS limited
SET starts = ARRAY(SELECT jsonb_array_elements_text(log.starts::jsonb)
                   ::double precision)
FROM unnest(%(tasks)s::text[], %(starts)s::text[]) AS log (task, starts)
WHERE limited.task = log.task;

-- name: mark_started
-- Claimed runs began: count their attempts, forget the progress of an
-- earlier run, record the "started" event with its attempt number. Only
-- for the current claims; the arrays are parallel (job id, its claim's
-- token).
UPDATE remotetask_jobs AS job
SET started = %(now)s, attempts = job.attempts + 1, server = %(owner)s,
    progress = NULL,
    events = remotetask_append_event(
        job.events, %(event)s::jsonb || jsonb_build_object(
            'attempt', job.attempts + 1), %(keep)s)
FROM unnest(%(ids)s::integer[], %(tokens)s::text[]) AS run (id, token)
WHERE job.id = run.id AND job.token = run.token;

-- name: skip_runs
-- Misfires: move a cron job's due time on, counting the due times that
-- passed without a run; a compare-and-set on due, as claims are.
UPDATE remotetask_jobs SET due = %(next)s, missed = missed + %(missed)s
WHERE id = %(id)s AND due = %(due)s AND status = 'cronjob';

-- name: scheduled_due
-- Whether any cron or delayed job is due: when none is, a claim skips
-- their steps (two round trips).
SELECT EXISTS (SELECT 1 FROM remotetask_jobs
               WHERE status IN ('cronjob', 'delayed')
                 AND due <= %(now)s) AS due;

-- name: has_due
SELECT EXISTS (SELECT 1 FROM remotetask_jobs
               WHERE status = 'queued'
                 AND (due IS NULL OR due <= %(now)s))
    OR EXISTS (SELECT 1 FROM remotetask_jobs
               WHERE status IN ('cronjob', 'delayed') AND due <= %(now)s)
    AS due;

-- name: finish_job
-- Only the holder of the current claim may record its end.
-- A retry goes back to the queue with a due time; a failure adds
-- %(attempt)s (JSON) to the history, and %(event)s to the events;
-- %(progress)s, when given, is the run's last progress report. A job that
-- has ended is announced to every server in the same round trip (see
-- notify_finished). %(started)s, when given, is the run's start, not
-- recorded yet (a short run's start and end come together): it is
-- recorded here first, as mark_started does, with %(startEvent)s (given
-- its attempt number) before %(event)s. Returns notify, to tell whether a
-- completion call is owed.
WITH finished AS (
    UPDATE remotetask_jobs
    SET status = coalesce(%(status)s::text, status), output = %(output)s,
        progress = CASE WHEN %(started)s::double precision IS NULL
                        THEN coalesce(%(progress)s::text, progress)
                        ELSE %(progress)s::text END,
        started = coalesce(%(started)s::double precision, started),
        attempts = attempts + CASE WHEN %(started)s::double precision
                                        IS NULL THEN 0 ELSE 1 END,
        server = CASE WHEN %(started)s::double precision IS NULL
                      THEN server ELSE %(server)s END,
        error = %(error)s, traceback = %(traceback)s, completed = %(now)s,
        token = NULL, owner = NULL,
        due = CASE WHEN %(status)s::text = 'queued'
                   THEN %(due)s::double precision ELSE due END,
        history = CASE WHEN %(attempt)s::text IS NULL THEN history
                       ELSE (coalesce(history, '[]')::jsonb
                             || jsonb_build_array(%(attempt)s::jsonb))::text
                  END,
        events = remotetask_append_event(
            remotetask_append_event(
                events, %(startEvent)s::jsonb || jsonb_build_object(
                    'attempt', attempts + 1), %(keep)s),
            %(event)s::jsonb, %(keep)s)
    WHERE id = %(id)s AND token = %(token)s
    RETURNING id, status, notify),
told AS (
    SELECT pg_notify('remotetask_finished', id::text || ':' || status)
    FROM finished WHERE status IN ('completed', 'error', 'cancelled'))
SELECT (SELECT count(*) FROM finished) AS finished,
       (SELECT notify FROM finished) AS notify,
       (SELECT count(*) FROM told) AS told;

-- name: release_job
-- A run given up before its end goes back to the queue (cron jobs keep
-- their status and simply wait for their next due time).
-- A run that had started gives its attempt back: the server stopping is
-- not the job's failure.
UPDATE remotetask_jobs
SET status = CASE status WHEN 'processing' THEN 'queued' ELSE status END,
    token = NULL, owner = NULL,
    attempts = greatest(0, attempts - CASE WHEN %(started)s THEN 1 ELSE 0 END),
    events = remotetask_append_event(events, %(event)s::jsonb, %(keep)s)
WHERE id = %(id)s AND token = %(token)s;

-- name: release_claims
-- The jobs of claims whose commit was lost: they may have been claimed
-- without anyone to run them. As release_job, for runs that never started.
UPDATE remotetask_jobs
SET status = CASE status WHEN 'processing' THEN 'queued' ELSE status END,
    token = NULL, owner = NULL
WHERE token = ANY (%(tokens)s::text[]);

-- name: requeue_own_claims
-- Claims left by an earlier run of this server (same serverId) that ended
-- without finishing them; other servers' claims are theirs to finish, and
-- so are this run's own, made since %(before)s when it is given.
UPDATE remotetask_jobs
SET status = %(to)s, token = NULL, owner = NULL,
    events = remotetask_append_event(events, %(event)s::jsonb, %(keep)s)
WHERE status = ANY (%(statuses)s::text[]) AND token IS NOT NULL
  AND owner = %(owner)s
  AND (%(before)s::double precision IS NULL OR claimed IS NULL
       OR claimed < %(before)s::double precision);

-- name: heartbeat
-- With the tasks this server serves, so that a server forgotten while it
-- was cut off from the database (forget_lost_servers) is known again,
-- with its tasks, at its next heartbeat.
INSERT INTO remotetask_servers (id, heartbeat, tasks)
VALUES (%(id)s, %(now)s, %(tasks)s::jsonb)
ON CONFLICT (id) DO UPDATE
SET heartbeat = excluded.heartbeat, tasks = excluded.tasks;

-- name: withdraw_tasks
-- A server stopping serves nothing more; its row stays until its
-- heartbeat is old, as its running jobs' recovery goes by it.
UPDATE remotetask_servers SET tasks = '{}' WHERE id = %(id)s;

-- name: served_tasks
-- Each task some live server serves (heartbeat since the cutoff), with its
-- description and the servers that serve it.
SELECT served.key AS task, min(served.value) AS description,
       array_agg(server.id ORDER BY server.id) AS servers
FROM remotetask_servers AS server, jsonb_each_text(server.tasks) AS served
WHERE server.heartbeat >= %(cutoff)s
GROUP BY served.key
ORDER BY served.key;

-- name: requeue_lost_claims
-- Jobs held by a server that has not heartbeated since the cutoff (it
-- died, or lost the database). A job started after the cutoff is left
-- alone, so a server that claims before its first heartbeat is not robbed.
-- (Claimed, not started: a claimed job may wait beside its workers.)
-- Each gets the "put back" %(event)s, naming the lost server.
UPDATE remotetask_jobs AS job
SET status = 'queued', token = NULL, owner = NULL,
    events = remotetask_append_event(
        job.events, %(event)s::jsonb || jsonb_build_object('lost', job.owner),
        %(keep)s)
WHERE job.status = 'processing' AND job.owner IS NOT NULL
  AND coalesce(job.claimed, job.started) < %(cutoff)s
  AND NOT EXISTS (SELECT 1 FROM remotetask_servers AS server
                  WHERE server.id = job.owner
                    AND server.heartbeat >= %(cutoff)s)
RETURNING job.id;

-- name: forget_lost_servers
DELETE FROM remotetask_servers WHERE heartbeat < %(cutoff)s;

-- name: set_schedule
UPDATE remotetask_jobs SET schedule = %(schedule)s, due = NULL
WHERE id = %(id)s;

-- name: purge_jobs
-- Retention: at most %(limit)s jobs of one finished status that ended
-- before %(before)s, so that a large purge is many short transactions. A
-- job that an unfinished one waits for stays (through
-- remotetask_dependencies_after), so that the graph stays whole and a job
-- given pass finds every result.
DELETE FROM remotetask_jobs WHERE id IN (
    SELECT id FROM remotetask_jobs AS job
    WHERE status IN ('completed', 'error', 'cancelled')
      AND status = %(status)s AND completed < %(before)s
      AND NOT EXISTS (
          SELECT 1 FROM remotetask_dependencies AS edge
          JOIN remotetask_jobs AS waiting ON waiting.id = edge.job
          WHERE edge.after = job.id
            AND waiting.status NOT IN ('completed', 'error', 'cancelled'))
    LIMIT %(limit)s);

-- name: clean_jobs
-- One set-based delete, through remotetask_jobs_by_status. Keeps a job
-- that an unfinished one waits for, as purge_jobs does.
DELETE FROM remotetask_jobs AS job WHERE status = ANY (%(statuses)s::text[])
  AND NOT EXISTS (
      SELECT 1 FROM remotetask_dependencies AS edge
      JOIN remotetask_jobs AS waiting ON waiting.id = edge.job
      WHERE edge.after = job.id
        AND waiting.status NOT IN ('completed', 'error', 'cancelled'));

-- name: count_by_status_and_task
-- For the dashboard and /metrics: through remotetask_jobs_by_status_task.
SELECT status, task, count(*) AS count FROM remotetask_jobs
GROUP BY status, task;

-- name: oldest_queued
-- Since when the oldest due queued job has waited (one that waited for a
-- due time, a retry or a delayed add: since then), through
-- remotetask_jobs_by_status. With priorities and limits it need not be
-- the next one claimed.
SELECT coalesce(due, created) AS since FROM remotetask_jobs
WHERE status = 'queued' AND (due IS NULL OR due <= %(now)s)
ORDER BY id LIMIT 1;

-- name: newest_jobs
-- A page of previews, newest first, below the keyset cursor before:
-- never an OFFSET, so a page deep in a million jobs costs what the first
-- does. bounds looks at no more than scan candidates through an index
-- (here the primary key; the two queries below use
-- remotetask_jobs_by_status and _by_task) and says how far that went:
-- floor, the lowest id looked at, and how many were. matches then reads that range of the same index and
-- keeps those that pass the filters it does not serve (task beside
-- status, text, which is lower case). A look that matched nothing
-- yields one row with floor and scanned alone, so the store can tell where
-- the next page starts (remotetask/store/paging.py).
WITH bounds AS (
    SELECT min(id) AS floor, count(*) AS scanned
    FROM (SELECT id FROM remotetask_jobs
          WHERE id < %(before)s
          ORDER BY id DESC LIMIT %(scan)s) AS candidates),
matches AS (
    SELECT id, task, status, created, started, completed, due, attempts,
           missed, progress, left(input, 200) AS input,
           left(error, 200) AS error
    FROM remotetask_jobs
    WHERE id < %(before)s
      AND id >= (SELECT floor FROM bounds)
      AND (%(task)s::text IS NULL OR task = %(task)s)
      AND (%(text)s::text IS NULL
           OR strpos(lower(input), %(text)s) > 0
           OR strpos(lower(error), %(text)s) > 0)
    ORDER BY id DESC LIMIT %(limit)s)
SELECT bounds.floor, bounds.scanned, matches.*
FROM bounds LEFT JOIN matches ON true
ORDER BY matches.id DESC;

-- name: newest_jobs_by_status
-- The same, through remotetask_jobs_by_status.
WITH bounds AS (
    SELECT min(id) AS floor, count(*) AS scanned
    FROM (SELECT id FROM remotetask_jobs
          WHERE status = %(status)s AND id < %(before)s
          ORDER BY id DESC LIMIT %(scan)s) AS candidates),
matches AS (
    SELECT id, task, status, created, started, completed, due, attempts,
           missed, progress, left(input, 200) AS input,
           left(error, 200) AS error
    FROM remotetask_jobs
    WHERE status = %(status)s AND id < %(before)s
      AND id >= (SELECT floor FROM bounds)
      AND (%(task)s::text IS NULL OR task = %(task)s)
      AND (%(text)s::text IS NULL
           OR strpos(lower(input), %(text)s) > 0
           OR strpos(lower(error), %(text)s) > 0)
    ORDER BY id DESC LIMIT %(limit)s)
SELECT bounds.floor, bounds.scanned, matches.*
FROM bounds LEFT JOIN matches ON true
ORDER BY matches.id DESC;

-- name: newest_jobs_by_task
-- The same, through remotetask_jobs_by_task.
WITH bounds AS (
    SELECT min(id) AS floor, count(*) AS scanned
    FROM (SELECT id FROM remotetask_jobs
          WHERE task = %(task)s AND id < %(before)s
          ORDER BY id DESC LIMIT %(scan)s) AS candidates),
matches AS (
    SELECT id, task, status, created, started, completed, due, attempts,
           missed, progress, left(input, 200) AS input,
           left(error, 200) AS error
    FROM remotetask_jobs
    WHERE task = %(task)s AND id < %(before)s
      AND id >= (SELECT floor FROM bounds)
      AND (%(task)s::text IS NULL OR task = %(task)s)
      AND (%(text)s::text IS NULL
           OR strpos(lower(input), %(text)s) > 0
           OR strpos(lower(error), %(text)s) > 0)
    ORDER BY id DESC LIMIT %(limit)s)
SELECT bounds.floor, bounds.scanned, matches.*
FROM bounds LEFT JOIN matches ON true
ORDER BY matches.id DESC;

-- name: retry_job
-- Queue a failed job again, due at once, with a fresh count of attempts;
-- its history keeps the failed ones. Not while another job of its task
-- holds its key (see key_holder).
UPDATE remotetask_jobs AS job
SET status = 'queued', due = NULL, token = NULL, owner = NULL, attempts = 0,
    events = remotetask_append_event(job.events, %(event)s::jsonb, %(keep)s)
WHERE job.id = %(id)s AND job.status = 'error'
  AND NOT EXISTS (SELECT 1 FROM remotetask_jobs AS other
                  WHERE other.task = job.task AND other.key = job.key
                    AND other.status IN ('queued', 'processing',
                                         'start later'));

-- name: key_holder
-- The unfinished job that holds the key of job %(id)s, if another does.
SELECT other.id FROM remotetask_jobs AS job
JOIN remotetask_jobs AS other ON other.task = job.task AND other.key = job.key
WHERE job.id = %(id)s
  AND other.status IN ('queued', 'processing', 'start later');

-- name: run_now
-- Make a cron or delayed job due now, unless a run of it holds a claim;
-- event (or NULL) says who asked.
UPDATE remotetask_jobs
SET due = %(now)s,
    events = remotetask_append_event(events, %(event)s::jsonb, %(keep)s)
WHERE id = %(id)s AND status IN ('cronjob', 'delayed') AND token IS NULL;

-- name: list_servers
-- The servers sharing this database, the tasks each serves, and how many
-- jobs each is running (few rows: processing jobs, through
-- remotetask_jobs_by_status).
SELECT server.id, server.heartbeat, server.tasks,
       (SELECT count(*) FROM remotetask_jobs AS job
        WHERE job.status = 'processing' AND job.owner = server.id)
           AS running
FROM remotetask_servers AS server
ORDER BY server.id;

-- name: set_progress
-- The latest progress reports of runs, each only while its claim is
-- current; the arrays are parallel (job id, its claim's token, report).
UPDATE remotetask_jobs AS job SET progress = report.progress
FROM unnest(%(ids)s::integer[], %(tokens)s::text[], %(reports)s::text[])
     AS report (id, token, progress)
WHERE job.id = report.id AND job.token = report.token;

-- name: notify_end
-- The job has ended: owe its caller a completion call, due at once. A
-- job ended again (retried by hand) owes the call of its new end.
INSERT INTO remotetask_notifications (job, url, status, since, due)
SELECT id, notify, status, completed, completed FROM remotetask_jobs
WHERE id = %(id)s AND notify IS NOT NULL
  AND status IN ('completed', 'error', 'cancelled')
ON CONFLICT (job) DO UPDATE
SET url = excluded.url, status = excluded.status, since = excluded.since,
    due = excluded.due, attempts = 0, token = NULL;

-- name: claim_notifications
-- Up to %(limit)s due completion calls, each moved past %(lease)s (the
-- call's time limit and some) so that no other claim, on any server,
-- takes it meanwhile; SKIP LOCKED lets servers claiming at once take
-- different ones. One the claimer never reports on (it died) is due again
-- after the lease.
UPDATE remotetask_notifications SET due = %(lease)s, token = %(token)s
WHERE job IN (SELECT job FROM remotetask_notifications
              WHERE due <= %(now)s
              ORDER BY due LIMIT %(limit)s
              FOR UPDATE SKIP LOCKED)
RETURNING job, url, status, since, attempts, token;

-- name: next_notification
-- When the next completion call is due, NULL when none is owed.
SELECT min(due) AS due FROM remotetask_notifications;

-- name: notification_done
-- A call was made, or given up: nothing more is owed.
DELETE FROM remotetask_notifications
WHERE job = %(job)s AND token = %(token)s;

-- name: notification_again
-- A call failed and is tried again at %(due)s.
UPDATE remotetask_notifications
SET due = %(due)s, attempts = attempts + 1, token = NULL
WHERE job = %(job)s AND token = %(token)s;

-- name: add_event
UPDATE remotetask_jobs
SET events = remotetask_append_event(events, %(event)s::jsonb, %(keep)s)
WHERE id = %(id)s;

-- name: count_runs
-- Runs that ended, added to this minute's counters of this server.
INSERT INTO remotetask_minutes (minute, server, finished, failed)
VALUES (%(minute)s, %(server)s, %(finished)s, %(failed)s)
ON CONFLICT (minute, server) DO UPDATE
SET finished = remotetask_minutes.finished + excluded.finished,
    failed = remotetask_minutes.failed + excluded.failed;

-- name: sample_queue
-- The queue's depth now, counted through remotetask_jobs_by_status (the
-- queued jobs' entries only), as this minute's sample.
INSERT INTO remotetask_minutes (minute, server, queued)
VALUES (%(minute)s, %(server)s,
        (SELECT count(*) FROM remotetask_jobs WHERE status = 'queued'))
ON CONFLICT (minute, server) DO UPDATE SET queued = excluded.queued;

-- name: minutes_since
-- The chart: every server's counters summed per minute, and the deepest
-- queue any of them saw (each samples the whole queue).
SELECT minute, sum(finished)::bigint AS finished,
       sum(failed)::bigint AS failed, max(queued) AS queued
FROM remotetask_minutes WHERE minute >= %(since)s
GROUP BY minute ORDER BY minute;

-- name: purge_minutes
DELETE FROM remotetask_minutes WHERE minute < %(before)s;

-- name: find_owned_jobs
-- A page of one caller's jobs (issue 22), through
-- remotetask_jobs_by_owner; NULL parameters match anything.
SELECT id, task, status, input, output, error, traceback, created, started,
       completed, schedule, due, attempts, token, history, missed, claimed,
       priority, key, maxattempts, server,
       progress, events::text AS events, notify, addedby
FROM remotetask_jobs
WHERE addedby = %(owner)s AND id > %(after)s
  AND (%(status)s::text IS NULL OR status = %(status)s)
  AND (%(task)s::text IS NULL OR task = %(task)s)
ORDER BY id LIMIT %(limit)s;

-- name: newest_owned_jobs
-- newest_jobs for one caller's jobs, through remotetask_jobs_by_owner:
-- every other filter is looked at among at most scan of its jobs.
WITH bounds AS (
    SELECT min(id) AS floor, count(*) AS scanned
    FROM (SELECT id FROM remotetask_jobs
          WHERE addedby = %(owner)s AND id < %(before)s
          ORDER BY id DESC LIMIT %(scan)s) AS candidates),
matches AS (
    SELECT id, task, status, created, started, completed, due, attempts,
           missed, progress, left(input, 200) AS input,
           left(error, 200) AS error
    FROM remotetask_jobs
    WHERE addedby = %(owner)s AND id < %(before)s
      AND id >= (SELECT floor FROM bounds)
      AND (%(status)s::text IS NULL OR status = %(status)s)
      AND (%(task)s::text IS NULL OR task = %(task)s)
      AND (%(text)s::text IS NULL
           OR strpos(lower(input), %(text)s) > 0
           OR strpos(lower(error), %(text)s) > 0)
    ORDER BY id DESC LIMIT %(limit)s)
SELECT bounds.floor, bounds.scanned, matches.*
FROM bounds LEFT JOIN matches ON true
ORDER BY matches.id DESC;

-- name: insert_api_token
-- No row back when the name is taken.
INSERT INTO remotetask_api_tokens (name, digest, role, tasks, created,
                                   expires)
VALUES (%(name)s, %(digest)s, %(role)s, %(tasks)s, %(now)s, %(expires)s)
ON CONFLICT DO NOTHING
RETURNING name;

-- name: find_api_token
SELECT name, role, tasks, expires, lastused FROM remotetask_api_tokens
WHERE digest = %(digest)s;

-- name: list_api_tokens
SELECT name, role, tasks, created, expires, lastused
FROM remotetask_api_tokens ORDER BY name;

-- name: revoke_api_token
DELETE FROM remotetask_api_tokens WHERE name = %(name)s RETURNING name;

-- name: touch_api_token
-- The token's last use, written at most once a minute per token and
-- server (remotetask/wire/tokens.py), never per call.
UPDATE remotetask_api_tokens SET lastused = %(now)s
WHERE digest = %(digest)s RETURNING name;

-- name: migration_0010
-- Jobs that wait for other jobs (issue 21). remotetask_dependencies: one
-- row per edge, job waiting for after; ended is set once after's end has
-- been counted, so that an end counts once (a job retried by hand ends
-- again). Both ends cascade: a job that goes takes its edges along
-- (retention keeps a finished job while an unfinished one waits for it:
-- purge_jobs). remotetask_dependencies_after finds a job's dependents
-- when it ends: one index seek per ended job, never a scan.
-- remotetask_waits: one row per job added with after; pending counts its
-- dependencies not yet ended. It is the one row that the ends of a
-- fan-in's dependencies all update (count_down), so that concurrent ends
-- on several servers follow one another there: see remotetask/store/
-- waiting.py for why this releases the job exactly once.
CREATE TABLE remotetask_dependencies (
    job integer NOT NULL REFERENCES remotetask_jobs (id) ON DELETE CASCADE,
    after integer NOT NULL
        REFERENCES remotetask_jobs (id) ON DELETE CASCADE,
    ended boolean NOT NULL DEFAULT false,
    PRIMARY KEY (job, after)
);
CREATE INDEX remotetask_dependencies_after
    ON remotetask_dependencies (after, job);
CREATE TABLE remotetask_waits (
    job integer PRIMARY KEY REFERENCES remotetask_jobs (id) ON DELETE CASCADE,
    pending integer NOT NULL,
    onfailure text NOT NULL,
    pass boolean NOT NULL
);

-- name: dependency_states
-- The jobs a new job is to wait for, locked FOR SHARE until the add
-- commits: an end on another server (an UPDATE of the row) waits for the
-- add, so that its count_end then sees the new edge; or the add waits for
-- the end, and then reads the job as ended. Either way the end is counted
-- exactly once. In id order, so that two adds never lock in a circle.
SELECT id, task, status, schedule FROM remotetask_jobs
WHERE id = ANY (%(ids)s::integer[])
ORDER BY id FOR SHARE;

-- name: insert_dependencies
-- The edges of a new waiting job; those of %(ended)s (its dependencies
-- that had already ended when it was added) are counted already.
INSERT INTO remotetask_dependencies (job, after, ended)
SELECT %(job)s, after, after = ANY (%(ended)s::integer[])
FROM unnest(%(after)s::integer[]) AS after;

-- name: insert_wait
INSERT INTO remotetask_waits (job, pending, onfailure, pass)
VALUES (%(job)s, %(pending)s, %(onfailure)s, %(pass)s);

-- name: count_end
-- The jobs %(ids)s ended: their edges not counted yet, through
-- remotetask_dependencies_after, now counted; their dependents come back
-- (see count_down). One statement for a batch of ends.
UPDATE remotetask_dependencies SET ended = true
WHERE after = ANY (%(ids)s::integer[]) AND NOT ended
RETURNING job, after;

-- name: count_down
-- %(n)s more of the job's dependencies have ended. The UPDATE locks the
-- row: a concurrent end of another dependency waits here until this
-- transaction commits, then counts down from what it committed (READ
-- COMMITTED re-reads the row it waited for), so that exactly one of them
-- sees pending reach 0.
UPDATE remotetask_waits SET pending = pending - %(n)s
WHERE job = %(job)s
RETURNING job, pending, onfailure, pass;

-- name: passed_results
-- What a job given pass receives: every dependency's output, by id. A
-- statement after count_down, so that its snapshot holds the ends that
-- count_down waited for.
SELECT job.id, job.status, job.output
FROM remotetask_dependencies AS edge
JOIN remotetask_jobs AS job ON job.id = edge.after
WHERE edge.job = %(job)s ORDER BY job.id;

-- name: leave_waiting
-- The job waits no more: queued once its dependencies have ended (with
-- the input joined to their results when %(input)s is given), and the
-- servers woken; or ended without a run, cancelled (a dependency failed)
-- or error (its joined input is too large), at %(now)s, and every server
-- told, as of any end (notify_finished). Only while it waits. Returns
-- notify, to tell whether an end owes a completion call.
WITH moved AS (
    UPDATE remotetask_jobs
    SET status = %(status)s, input = coalesce(%(input)s::text, input),
        error = %(error)s,
        completed = CASE WHEN %(status)s = 'queued' THEN completed
                         ELSE %(now)s::double precision END,
        events = remotetask_append_event(events, %(event)s::jsonb, %(keep)s)
    WHERE id = %(id)s AND status = 'waiting'
    RETURNING id, status, notify)
SELECT notify,
       CASE WHEN status = 'queued' THEN pg_notify('remotetask_jobs', '')
            ELSE pg_notify('remotetask_finished', id::text || ':' || status)
       END AS told
FROM moved;

-- name: job_dependencies
-- The jobs %(id)s waits (or waited) for, through the primary key.
SELECT job.id, job.task, job.status
FROM remotetask_dependencies AS edge
JOIN remotetask_jobs AS job ON job.id = edge.after
WHERE edge.job = %(id)s ORDER BY job.id LIMIT %(limit)s;

-- name: job_dependents
-- The jobs that wait (or waited) for %(id)s, through
-- remotetask_dependencies_after.
SELECT job.id, job.task, job.status
FROM remotetask_dependencies AS edge
JOIN remotetask_jobs AS job ON job.id = edge.job
WHERE edge.after = %(id)s ORDER BY job.id LIMIT %(limit)s;
