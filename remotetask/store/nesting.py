"""The part of ``IJobStore.transaction`` that every store shares.

On one thread, a transaction opened inside another joins it: only the
outermost one begins, commits or rolls back (each store's connections say
how, in the ``outermost()`` they give ``Transactions``), and the
callbacks given to ``afterCommit`` meanwhile run once it has committed,
never if it rolled back.
"""

import threading


class Joined:
    """``transaction()``: a context manager written out rather than a
    generator, since every store call inside a batch enters one (a
    generator costs twice as much, several times a job). ``__enter__``
    gives the connection of the transaction open on this thread."""

    __slots__ = ('transactions', 'outer')

    def __init__(self, transactions):
        self.transactions = transactions
        self.outer = None

    def __enter__(self):
        local = self.transactions.local
        if getattr(local, 'depth', 0):
            local.depth += 1
        else:
            local.after = []
            outer = self.transactions.outermost()
            local.connection = outer.__enter__()
            self.outer = outer
            local.depth = 1
        return local.connection

    def __exit__(self, kind, value, traceback):
        local = self.transactions.local
        outer, self.outer = self.outer, None
        if outer is None:
            local.depth -= 1
            return False
        local.depth = 0
        local.connection = None
        try:
            suppressed = outer.__exit__(kind, value, traceback)
        except BaseException:
            local.after = []
            raise
        if kind is not None and not suppressed:
            local.after = []
            return False
        after, local.after = local.after, []
        for callback in after:
            callback()
        return suppressed


class Transactions:
    """The transactions of one store, joined per thread: ``outermost()``
    is a context manager around one real transaction, which gives its
    connection."""

    def __init__(self, outermost):
        self.outermost = outermost
        #: Per thread: the depth, the connection and the callbacks of the
        #: transaction open on it.
        self.local = threading.local()

    def transaction(self):
        """See ``IJobStore.transaction``; gives the connection."""
        return Joined(self)

    def afterCommit(self, callback):
        """See ``IJobStore.afterCommit``."""
        if getattr(self.local, 'depth', 0):
            self.local.after.append(callback)
        else:
            callback()

    def reset(self):
        """Forget every thread's state (the store is closed)."""
        self.local = threading.local()
