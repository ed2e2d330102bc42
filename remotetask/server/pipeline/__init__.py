"""The job pipeline: a job's way from the store to a worker and back.

The writer commits, the feeder claims into the in-flight table, the
dispatcher hands runs to a pool and the recorder writes what came back;
waiters, the cancel watch, the job log and completion calls read the
same table and the same ends.
"""
