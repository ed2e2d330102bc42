"""The core: jobs, cron, the value codec, tasks, the registry and the
TaskService.

Pure and synchronous, as the original Zope package was: nothing here
imports a reactor, so a legacy host can use the service without Twisted
running, and the server (``remotetask.server``) calls it from threads it
owns. Nothing here imports a store either (the stores import the core;
a service is given its store), and the time is read from the clock a
service is given (``clock.py`` holds the system's). ``tests/test_layers``
checks all three.
"""
