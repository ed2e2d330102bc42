"""The Huey instances of the benchmark: SqliteHuey or RedisHuey, one `echo`.

The producer calls makeHuey() itself; `huey_consumer hueyapp.huey` gets the
instance named by BENCH_HUEY_KIND in its environment.
"""

import os

from huey import RedisHuey, SqliteHuey


def makeHuey(kind, filename=None):
    """Return (huey, echo task) for kind 'sqlite' or 'redis'.

    SqliteHuey keeps its defaults: WAL, SQLite's default synchronous=FULL,
    so an enqueued job is on disk.  RedisHuey gets notify_result=True, the
    option huey offers so that a blocking Result.get() is woken by BLPOP
    instead of polling from 50 ms up: the counterpart of remotetask's wait.
    """
    if kind == 'sqlite':
        huey = SqliteHuey('bench', filename=filename
                          or os.environ['BENCH_HUEY_FILE'])
    else:
        huey = RedisHuey('bench', url=os.environ.get(
            'BENCH_REDIS_URL', 'redis://127.0.0.1:6379/15'),
            notify_result=True)

    @huey.task(name='echo')
    def echo(input):
        """Return the input: the no-op job every system runs."""
        return input

    return huey, echo


if os.environ.get('BENCH_HUEY_KIND'):
    huey, echo = makeHuey(os.environ['BENCH_HUEY_KIND'])
