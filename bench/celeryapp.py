"""The Celery app of the benchmark: one `echo` task, Redis broker and results.

Imported by the producer (compare.py) and by `celery -A celeryapp worker`.
Everything is Celery's default but the URLs: early acks, prefetch of 4 per
process, JSON, results kept for a day.
"""

import os

from celery import Celery

url = os.environ.get('BENCH_REDIS_URL', 'redis://127.0.0.1:6379/15')
app = Celery('bench', broker=url, backend=url)
# Only silences Celery 5's start-up deprecation warning.
app.conf.broker_connection_retry_on_startup = True


@app.task(name='echo')
def echo(input):
    """Return the input: the no-op job every system runs."""
    return input
