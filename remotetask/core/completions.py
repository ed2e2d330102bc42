"""Completion calls: the jobs' ``notify`` URLs, for the server's
notifier, which makes the calls (``remotetask.server.pipeline.notifier``).

A job added with ``notify`` owes one call when it ends; the store keeps
what is owed. The notifier claims due calls for a lease, makes them, and
records how each went here: made, or failed and tried again later (see
``notifying.nextDue``) until ``notifyRetryTime`` has passed.
"""

import uuid

from remotetask.core import events, notifying
from remotetask.core.codec import storableText


class CompletionCalls:
    """The calls owed by the jobs of ``store``, now from ``clock``;
    ``settings.notifyRetryTime`` is read at each use; events name
    ``routing.serverName``."""

    def __init__(self, store, routing, settings, clock):
        self.store = store
        self.routing = routing
        self.settings = settings
        self.clock = clock

    def claimNotifications(self, limit, lease, now=None):
        """Claim up to ``limit`` due completion calls, each held by this
        caller for ``lease`` seconds; their rows (``job, url, status,
        since, attempts, token``)."""
        now = self.clock.seconds() if now is None else now
        return self.store.claimNotifications(now, limit, uuid.uuid4().hex,
                                             now + lease)

    def nextNotification(self):
        """When the next completion call is due, or None."""
        return self.store.nextNotification()

    def recordNotification(self, row, error=None, now=None):
        """Record how the claimed call ``row`` went: ``error`` None, it
        was made; else why it failed, and it is tried again (see
        ``notifying.nextDue``) or, past ``notifyRetryTime``, given up.
        Returns the due time of the next attempt (None: no more), or False
        if the claim had been lost."""
        now = self.clock.seconds() if now is None else now
        attempt = row['attempts'] + 1
        server = self.routing.serverName
        if error is None:
            due = None
            event = events.make(events.NOTIFIED, now, server,
                                url=row['url'], attempt=attempt)
        else:
            due = notifying.nextDue(attempt, row['since'], now,
                                    self.settings.notifyRetryTime)
            event = events.make(
                events.NOTIFY_FAILED, now, server, url=row['url'],
                attempt=attempt, why=storableText(error),
                retryIn=None if due is None else round(due - now, 3),
                gaveUp=True if due is None else None)
        if not self.store.recordNotification(row['job'], row['token'], due,
                                             event):
            return False
        return due
