"""The legacy import location of ``Job`` and ``CronJob``
(``lovely.remotetask.job``); the code lives in ``remotetask.core.job``."""

from remotetask.core.job import CronJob, Job  # noqa: F401
