"""The core: jobs, cron, the value codec, tasks, the registry and the
TaskService.

Pure and synchronous, as the original Zope package was: nothing here
imports a reactor, so a legacy host can use the service without Twisted
running, and the server (``remotetask.server``) calls it from threads it
owns. A test checks that no module here imports ``twisted.internet``.
"""
