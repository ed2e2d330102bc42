"""Callers racing one another: a test's threads, started together."""

import threading

#: Seconds a thread may wait for the others at the start, and to end.
PATIENCE = 60.0


def runThreads(target, count):
    """Run ``target(index)`` for each index below ``count``, each on a
    thread of its own, all released at once (a barrier) so that they
    race; wait for them all and return the exceptions they raised, for
    the test to assert that there are none."""
    errors, start = [], threading.Barrier(count)

    def run(index):
        try:
            start.wait(PATIENCE)
            target(index)
        except Exception as error:  # surfaced by the caller's assert
            errors.append(error)

    threads = [threading.Thread(target=run, args=(index,))
               for index in range(count)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(PATIENCE)
    stuck = sum(thread.is_alive() for thread in threads)
    assert not stuck, f'{stuck} thread(s) still running after {PATIENCE} s'
    return errors
