"""The procrastinate app of the benchmark, on its own PostgreSQL database.

Imported by the producer and by `procrastinate --app procrastinateapp.app
worker`; BENCH_PROCRASTINATE_DSN names the database compare.py created.
"""

import os

from procrastinate import App, PsycopgConnector

app = App(connector=PsycopgConnector(
    conninfo=os.environ['BENCH_PROCRASTINATE_DSN']))


@app.task(name='echo')
def echo(input):
    """Return the input: the no-op job every system runs (procrastinate
    keeps no return values: a job is done when its status is succeeded)."""
    return input
