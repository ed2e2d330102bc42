"""The part of ``IJobStore.transaction`` that every store shares.

On one thread, a transaction opened inside another joins it: only the
outermost one begins, commits or rolls back (each store says how, in
``_outermost()``), and the callbacks given to ``afterCommit`` meanwhile
run once it has committed, never if it rolled back. The store keeps the
per-thread state in ``self._local`` (a ``threading.local``).
"""


class Joined:
    """``store.transaction()``: a context manager written out rather than
    a generator, since every store call inside a batch enters one (a
    generator costs twice as much, several times a job). ``__enter__``
    gives ``store._local.txConnection`` when ``giving`` (the SQL stores'
    ``_transaction()``), else None."""

    __slots__ = ('store', 'giving', 'outer')

    def __init__(self, store, giving=False):
        self.store = store
        self.giving = giving
        self.outer = None

    def __enter__(self):
        local = self.store._local
        if getattr(local, 'depth', 0):
            local.depth += 1
        else:
            local.after = []
            outer = self.store._outermost()
            outer.__enter__()
            self.outer = outer
            local.depth = 1
        return local.txConnection if self.giving else None

    def __exit__(self, kind, value, traceback):
        local = self.store._local
        outer, self.outer = self.outer, None
        if outer is None:
            local.depth -= 1
            return False
        local.depth = 0
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


class JoinedTransactions:
    """``transaction()`` and ``afterCommit()`` for a store that provides
    ``_outermost()``, a context manager around one real transaction."""

    def transaction(self):
        """See ``IJobStore.transaction``."""
        return Joined(self)

    def afterCommit(self, callback):
        """See ``IJobStore.afterCommit``."""
        if getattr(self._local, 'depth', 0):
            self._local.after.append(callback)
        else:
            callback()

    def _outermost(self):
        raise NotImplementedError
