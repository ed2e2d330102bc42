"""The part of ``IJobStore.transaction`` that every store shares.

On one thread, a transaction opened inside another joins it: only the
outermost one begins, commits or rolls back (each store says how, in
``_outermost()``), and the callbacks given to ``afterCommit`` meanwhile
run once it has committed, never if it rolled back. The store keeps the
per-thread state in ``self._local`` (a ``threading.local``).
"""

import contextlib


class JoinedTransactions:
    """``transaction()`` and ``afterCommit()`` for a store that provides
    ``_outermost()``, a context manager around one real transaction."""

    @contextlib.contextmanager
    def transaction(self):
        """See ``IJobStore.transaction``."""
        local = self._local
        if getattr(local, 'depth', 0):
            local.depth += 1
            try:
                yield
            finally:
                local.depth -= 1
            return
        local.after = []
        try:
            with self._outermost():
                local.depth = 1
                try:
                    yield
                finally:
                    local.depth = 0
        except BaseException:
            local.after = []
            raise
        after, local.after = local.after, []
        for callback in after:
            callback()

    def afterCommit(self, callback):
        """See ``IJobStore.afterCommit``."""
        if getattr(self._local, 'depth', 0):
            self._local.after.append(callback)
        else:
            callback()

    def _outermost(self):
        raise NotImplementedError
