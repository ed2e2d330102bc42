"""Transactions of the memory store: its lock, and an undo log.

A transaction of ``MemoryJobStore`` is its lock held throughout, with the
rows and entries it changed remembered as they were before, so that a
raise rolls back as a database would and a caller sees the same contract
on every store.
"""

import contextlib


class UndoLog:
    """``_outermost`` (see ``JoinedTransactions``), and ``_touch`` and
    ``_keep``, which each change calls before it changes something, for
    ``MemoryJobStore``, which provides ``_lock``, ``_local``, ``_rows`` and
    ``_index``."""

    @contextlib.contextmanager
    def _outermost(self):
        """The lock held throughout, and an undo log of the rows changed
        (see ``JoinedTransactions``)."""
        local = self._local
        with self._lock:
            local.undo = {}
            try:
                yield
            except BaseException:
                self._rollBack(local.undo)
                raise
            finally:
                local.undo = None

    def _touch(self, jobid):
        """Remember the row ``jobid`` as it was before this transaction
        first changed it (None: it did not exist)."""
        undo = getattr(self._local, 'undo', None)
        if undo is not None and jobid not in undo:
            row = self._rows.get(jobid)
            undo[jobid] = None if row is None else dict(row)

    def _keep(self, table, key):
        """Remember the entry ``key`` of ``table`` (the notifications or
        the minutes) as it was before this transaction first changed it,
        as ``_touch`` does for rows."""
        undo = getattr(self._local, 'undo', None)
        if undo is not None and (id(table), key) not in undo:
            entry = table.get(key)
            undo[id(table), key] = (table, key,
                                    None if entry is None else dict(entry))

    def _rollBack(self, undo):
        for jobid, row in undo.items():
            if isinstance(jobid, tuple):
                table, key, entry = row
                if entry is None:
                    table.pop(key, None)
                else:
                    table[key] = entry
            elif row is None:
                self._rows.pop(jobid, None)
            else:
                self._rows[jobid] = row
                self._index(row)
