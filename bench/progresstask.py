"""The `progress` task of bench/compare.py's progress row (issue 13).

A no-op like `echo`, but it reports its progress 100 times first, so that
its end-to-end rate against echo's shows what a report costs the server.
compare.py gives it to the daemon (`--task progress=progresstask:progress`,
with bench/ on PYTHONPATH) only when remotetask offers `reportProgress`;
until then this module is never imported.
"""

from remotetask import reportProgress


def progress(input):
    """Report progress 100 times, then return the input unchanged."""
    for i in range(100):
        reportProgress(i / 100)
    return input
