"""The daemon, in four sub-packages by concern: ``pipeline`` (a job's way
from the store to a worker and back), ``workers`` (the pools jobs run in),
``daemon`` (options, start-up and the twistd service tree) and ``cluster``
(what the servers of one queue share).

Nothing here runs task code or a slow store call on the reactor thread:
tasks run in worker processes or threads, reads and long writes in the
store's threads; only short SQLite commits are made in the reactor's turn.
"""
