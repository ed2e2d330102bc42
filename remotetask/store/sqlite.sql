-- The SQLite job store's queries. Parameters are named (:id); times are
-- epoch seconds as REAL. See remotetask/interfaces.py IJobStore for what
-- each operation promises.

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

-- name: insert_job
INSERT INTO jobs (task, status, input, schedule, created)
VALUES (:task, :status, :input, :schedule, :now)
RETURNING id;

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
-- The same, written so that SQLite uses jobs_by_status.
SELECT * FROM jobs
WHERE status = :status AND id > :after
  AND (:task IS NULL OR task = :task)
ORDER BY id LIMIT :limit;

-- name: find_jobs_by_task
SELECT * FROM jobs
WHERE task = :task AND id > :after
ORDER BY id LIMIT :limit;

-- name: get_status
SELECT status FROM jobs WHERE id = :id;

-- name: set_status
UPDATE jobs SET status = :status, token = NULL WHERE id = :id;

-- name: unscheduled_jobs
-- Cron and delayed jobs that no process() has seen yet.
SELECT * FROM jobs
WHERE status IN ('cronjob', 'delayed') AND due IS NULL;

-- name: set_due
UPDATE jobs SET due = :due WHERE id = :id;

-- name: due_cron_job
-- The IN term repeats jobs_scheduled's own WHERE, without which SQLite
-- does not use that partial index (and would sort every due job).
SELECT * FROM jobs
WHERE status IN ('cronjob', 'delayed') AND status = 'cronjob'
  AND due <= :now
ORDER BY due, id LIMIT 1;

-- name: claim_cron_job
-- Moves due on before the run, so a due time is handed out once.
UPDATE jobs
SET due = :next, token = :token, started = :started, attempts = attempts + 1
WHERE id = :id AND due = :due
RETURNING *;

-- name: claim_delayed_job
UPDATE jobs
SET status = 'processing', token = :token, started = :started,
    attempts = attempts + 1
WHERE id = (SELECT id FROM jobs
            WHERE status IN ('cronjob', 'delayed') AND status = 'delayed'
              AND due <= :now
            ORDER BY due, id LIMIT 1)
RETURNING *;

-- name: claim_queued_job
-- The oldest queued job that is due (a retry may wait until later).
UPDATE jobs
SET status = 'processing', token = :token, started = :started,
    attempts = attempts + 1
WHERE id = (SELECT id FROM jobs
            WHERE status = 'queued' AND (due IS NULL OR due <= :now)
            ORDER BY id LIMIT 1)
RETURNING *;

-- name: skip_runs
-- Misfires: move a cron job's due time on, counting the due times that
-- passed without a run; a compare-and-set on due, as claims are.
UPDATE jobs SET due = :next, missed = missed + :missed
WHERE id = :id AND due = :due AND status = 'cronjob';

-- name: has_due
SELECT EXISTS (SELECT 1 FROM jobs
               WHERE status = 'queued' AND (due IS NULL OR due <= :now))
    OR EXISTS (SELECT 1 FROM jobs
               WHERE status IN ('cronjob', 'delayed') AND due <= :now);

-- name: finish_job
-- Only the holder of the current claim may record its end. A retry goes
-- back to the queue with a due time; a failure adds :attempt (JSON) to
-- the history.
UPDATE jobs
SET status = coalesce(:status, status), output = :output, error = :error,
    traceback = :traceback, completed = :now, token = NULL,
    due = CASE WHEN :status = 'queued' THEN :due ELSE due END,
    history = CASE WHEN :attempt IS NULL THEN history
                   ELSE json_insert(coalesce(history, '[]'), '$[#]',
                                    json(:attempt)) END
WHERE id = :id AND token = :token;

-- name: release_job
-- A run given up before its end goes back to the queue (cron jobs keep
-- their status and simply wait for their next due time).
UPDATE jobs
SET status = CASE status WHEN 'processing' THEN 'queued' ELSE status END,
    token = NULL
WHERE id = :id AND token = :token;

-- name: requeue_claimed
-- Claims left by a run of the server that ended without finishing them.
UPDATE jobs SET status = :to, token = NULL
WHERE status = :status AND token IS NOT NULL;

-- name: set_schedule
UPDATE jobs SET schedule = :schedule, due = NULL WHERE id = :id;

-- name: purge_jobs
-- Retention: at most :limit jobs of one finished status that ended before
-- :before, so that a large purge is many short transactions.
DELETE FROM jobs WHERE id IN (
    SELECT id FROM jobs
    WHERE status IN ('completed', 'error', 'cancelled')
      AND status = :status AND completed < :before
    LIMIT :limit);

-- name: clean_jobs
-- One set-based delete, through jobs_by_status; :statuses is a JSON array.
DELETE FROM jobs WHERE status IN (SELECT value FROM json_each(:statuses));
