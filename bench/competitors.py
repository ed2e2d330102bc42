"""The other task queues remotetask is measured against, one class each.

Every competitor runs as its users would run it: its own worker processes,
started here, with its defaults except the worker count (two, as
remotetask's pool) and log level (warnings only, so no system pays for a
log line per job).  Each class docstring says what "done" means for it and
how durable an acknowledged job is.  Competitor packages are imported in
start(), not at the top, so that a missing one fails only its own column.
"""

import os
import subprocess
import sys

from adapter import (
    Adapter, BenchError, pollSeconds, pollUntil, postgresServer,
    recreateDatabase, venvScript)

redisUrl = 'redis://127.0.0.1:6379/15'  # db 15 is the benchmark's own
# Jobs checked per call when looking for unfinished ones, as remotetask's
# multicall batches.
checkBatch = 500
# How to start the machine's Redis if it is down: loopback, no persistence.
redisCommand = [
    'redis-server', '--daemonize', 'yes', '--bind', '127.0.0.1', '-::1',
    '--port', '6379', '--save', '', '--appendonly', 'no',
    '--dir', '/var/lib/redis', '--logfile', '/var/log/redis/ci.log']


def freshRedis():
    """A client of the benchmark's Redis db, emptied; Redis started if down.

    Only db 15 is flushed: the rest of the server is not ours.
    """
    import redis
    client = redis.Redis.from_url(redisUrl)
    try:
        client.ping()
    except redis.ConnectionError:
        subprocess.run(redisCommand, check=True, timeout=30)
        pollUntil(lambda: _pings(client), 10, 'redis-server to start',
                  interval=0.05)
    client.flushdb()
    return client


def _pings(client):
    import redis
    try:
        return client.ping()
    except redis.ConnectionError:
        return False


class Celery(Adapter):
    """Celery: Redis broker and result backend, `worker -P prefork -c 2`.

    Done: the result is in the backend with state SUCCESS.  The producer
    waits with AsyncResult.get(), which the Redis backend wakes by pub/sub.
    Durability: Redis here keeps nothing on disk; acks are early (Celery's
    default), so a job a worker dies running is lost.
    """

    name = 'celery'
    broker = 'redis'
    description = ('Redis broker+results, prefork -c 2, defaults '
                   '(early ack, prefetch 4); group() for batches')

    def start(self):
        self.redis = freshRedis()
        import celery
        import celeryapp
        self.app, self.echo, self.group = celeryapp.app, celeryapp.echo, \
            celery.group
        # Mingle and gossip only sync worker clusters at start-up and over
        # time; leaving them out shortens the start, not the job path.
        self.startWorker('celery', [
            sys.executable, '-m', 'celery', '-A', 'celeryapp', 'worker',
            '-P', 'prefork', '-c', '2', '--loglevel', 'WARNING',
            '--without-mingle', '--without-gossip',
            '-n', f'bench{os.getpid()}@%h'])

    def stop(self):
        super().stop()
        if getattr(self, 'redis', None) is not None:
            self.redis.flushdb()

    def enqueueOne(self, k):
        return self.echo.delay({'i': k})

    def enqueueMany(self, ks):
        return list(self.group(
            self.echo.s({'i': k}) for k in ks).apply_async().results)

    def waitOne(self, result, timeout):
        result.get(timeout=timeout)

    def unfinished(self, results):
        backend = self.app.backend
        pending = []
        for start in range(0, len(results), checkBatch):
            batch = results[start:start + checkBatch]
            values = backend.mget(
                [backend.get_key_for_task(r.id) for r in batch])
            for result, value in zip(batch, values):
                state = value and backend.decode_result(value)['status']
                if state in ('FAILURE', 'REVOKED'):
                    raise BenchError(f'celery task {result.id} {state}')
                if state != 'SUCCESS':
                    pending.append(result)
        return pending


class Rq(Adapter):
    """RQ: Redis, two `rq worker -w rq.worker.SimpleWorker` processes.

    RQ has no threads and its default worker forks per job; SimpleWorker
    runs jobs in the worker process, and two of them match two workers.
    Done: the job's status is finished (its result is stored).  The producer
    waits with Job.latest_result(timeout), a blocking read of the result
    stream.  Durability: Redis here keeps nothing on disk.
    """

    name = 'rq'
    broker = 'redis'
    description = ('Redis, 2 SimpleWorker processes (no threads in RQ); '
                   'enqueue_many for batches')

    def start(self):
        self.redis = freshRedis()
        from rq import Queue
        from rq.job import Job
        from rq.results import Result
        import rqjobs
        self.queueClass, self.jobClass, self.resultClass = Queue, Job, Result
        self.queue = Queue('bench', connection=self.redis)
        self.echo = rqjobs.echo
        for number in (1, 2):
            self.startWorker(f'rq{number}', [
                venvScript('rq'), 'worker', '-w', 'rq.worker.SimpleWorker',
                '-u', redisUrl, '--logging_level', 'WARNING', 'bench'])

    def stop(self):
        super().stop()
        if getattr(self, 'redis', None) is not None:
            self.redis.flushdb()

    def enqueueOne(self, k):
        return self.queue.enqueue(self.echo, {'i': k})

    def enqueueMany(self, ks):
        prepare = self.queueClass.prepare_data
        return self.queue.enqueue_many(
            [prepare(self.echo, args=({'i': k},)) for k in ks])

    def waitOne(self, job, timeout):
        result = job.latest_result(timeout=max(1, int(timeout)))
        if result is None:
            raise BenchError(f'rq job {job.id}: no result after {timeout} s')
        if result.type != self.resultClass.Type.SUCCESSFUL:
            raise BenchError(f'rq job {job.id} ended {result.type}')

    def unfinished(self, jobs):
        pending = []
        for start in range(0, len(jobs), checkBatch):
            batch = jobs[start:start + checkBatch]
            fetched = self.jobClass.fetch_many(
                [job.id for job in batch], connection=self.redis)
            for job, current in zip(batch, fetched):
                status = current and current.get_status(refresh=False)
                if status in ('failed', 'stopped', 'canceled'):
                    raise BenchError(f'rq job {job.id} {status}')
                if status != 'finished':
                    pending.append(job)
        return pending


class SqliteHuey(Adapter):
    """Huey with SqliteStorage: `huey_consumer -w 2 -k thread`.

    Done: the result is in huey's result store.  Huey's client can only
    poll for it (Result.get(blocking=True) sleeps 50 ms and up), so the
    bench polls the store every 2 ms instead: in huey's favour.  Its
    consumer polls the queue too (0.1 s, backing off to 10 s when idle,
    huey's defaults), which shows in its round trip.  Durability: WAL with
    SQLite's default synchronous=FULL: an enqueued job is on disk.
    Huey has no batch enqueue: "batched" is the same loop as single.
    """

    name = 'huey-sqlite'
    kind = 'sqlite'
    description = ('SqliteHuey (WAL, synchronous=FULL), -w 2 -k thread; '
                   'no batch API, result polled every 2 ms')

    def start(self):
        import hueyapp
        from huey.exceptions import TaskException
        self.taskException = TaskException
        env = {'BENCH_HUEY_KIND': self.kind}
        if self.kind == 'redis':
            freshRedis()
        else:
            env['BENCH_HUEY_FILE'] = str(self.workDir / 'huey.sqlite')
        self.huey, self.echo = hueyapp.makeHuey(
            self.kind, env.get('BENCH_HUEY_FILE'))
        self.startWorker('huey', [
            venvScript('huey_consumer'), 'hueyapp.huey',
            '-w', '2', '-k', 'thread', '--quiet'], env)

    def stop(self):
        super().stop()
        if getattr(self, 'huey', None) is not None:
            self.huey.storage.close()

    def enqueueOne(self, k):
        return self.echo({'i': k})

    def enqueueMany(self, ks):
        return [self.echo({'i': k}) for k in ks]

    def waitOne(self, result, timeout):
        pollUntil(lambda: self.huey.storage.has_data_for_key(result.id),
                  timeout, f'huey result {result.id}', pollSeconds)
        self.checkResult(result)

    def checkResult(self, result):
        try:
            result.get(preserve=True)
        except self.taskException as error:
            raise BenchError(f'huey task {result.id} failed: {error}')

    def unfinished(self, results):
        ready = {key.decode() if isinstance(key, bytes) else key
                 for key in self.huey.all_results()}
        return [result for result in results if result.id not in ready]


class RedisHuey(SqliteHuey):
    """Huey with RedisStorage: `huey_consumer -w 2 -k thread`.

    Done: the result is in huey's result hash.  With notify_result=True
    (huey's option for it) Result.get(blocking=True) blocks on BLPOP, and
    the consumer blocks on BRPOP for new jobs, so nothing polls.
    Durability: Redis here keeps nothing on disk.
    """

    name = 'huey-redis'
    broker = 'redis'
    kind = 'redis'
    description = ('RedisHuey (notify_result=True), -w 2 -k thread; '
                   'no batch API')

    def stop(self):
        super().stop()
        freshRedis()

    def waitOne(self, result, timeout):
        from huey.exceptions import ResultTimeout
        try:
            result.get(blocking=True, timeout=timeout, preserve=True)
        except ResultTimeout:
            raise BenchError(f'huey result {result.id}: none after '
                             f'{timeout} s')
        except self.taskException as error:
            raise BenchError(f'huey task {result.id} failed: {error}')


class Procrastinate(Adapter):
    """procrastinate on PostgreSQL: one `procrastinate worker -c 2` process.

    It runs in a database of its own, created here and dropped after.
    Done: the job's status is succeeded (procrastinate keeps no return
    values).  Its client has no wait, so the bench polls the status every
    2 ms.  Its worker is woken by LISTEN/NOTIFY.  Durability: PostgreSQL's
    defaults (fsync, synchronous_commit on): a deferred job is on disk.
    """

    name = 'procrastinate'
    broker = 'postgresql'
    database = 'bench_procrastinate'
    description = ('PostgreSQL (own database), 1 worker -c 2; batch_defer '
                   'for batches, status polled every 2 ms')

    def start(self):
        recreateDatabase(self.database)
        dsn = f'{postgresServer} dbname={self.database}'
        os.environ['BENCH_PROCRASTINATE_DSN'] = dsn
        import procrastinateapp
        self.app, self.echo = procrastinateapp.app, procrastinateapp.echo
        self.app.open()
        self.app.schema_manager.apply_schema()
        self.connector = self.app.connector.get_sync_connector()
        self.startWorker('procrastinate', [
            venvScript('procrastinate'), '--app', 'procrastinateapp.app',
            'worker', '--concurrency', '2'])

    def stop(self):
        super().stop()
        if getattr(self, 'app', None) is not None:
            self.app.close()
        recreateDatabase(self.database, create=False)

    def enqueueOne(self, k):
        return self.echo.defer(input={'i': k})

    def enqueueMany(self, ks):
        return self.echo.batch_defer(*[{'input': {'i': k}} for k in ks])

    def statuses(self, jobIds):
        rows = self.connector.execute_query_all(
            'SELECT id, status FROM procrastinate_jobs '
            'WHERE id = ANY(%(ids)s)', ids=list(jobIds))
        return {row['id']: row['status'] for row in rows}

    def waitOne(self, jobId, timeout):
        pollUntil(
            lambda: self.finished(jobId, self.statuses([jobId]).get(jobId)),
            timeout, f'procrastinate job {jobId}', pollSeconds)

    def finished(self, jobId, status):
        if status in ('failed', 'cancelled', 'aborted'):
            raise BenchError(f'procrastinate job {jobId} {status}')
        return status == 'succeeded'

    def unfinished(self, jobIds):
        pending = []
        for start in range(0, len(jobIds), checkBatch):
            batch = jobIds[start:start + checkBatch]
            statuses = self.statuses(batch)
            pending.extend(jobId for jobId in batch
                           if not self.finished(jobId, statuses.get(jobId)))
        return pending
