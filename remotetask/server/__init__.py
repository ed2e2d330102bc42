"""The daemon: the twistd plugin's service tree and the parts that move a
job from the store to a worker and back, all driven by the reactor.

Nothing here runs task code or store calls on the reactor thread: store
writes go to one writer thread per store (group commit), reads to a pool,
and tasks to worker processes or threads.
"""
