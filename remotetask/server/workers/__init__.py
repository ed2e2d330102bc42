"""Where jobs run: the pool of worker processes (the default), the pool of
threads for Python-only tasks, and what the server and a worker process
say to each other.
"""
