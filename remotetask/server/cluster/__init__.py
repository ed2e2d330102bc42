"""The work the servers of one queue share: heartbeats, recovering the
jobs of a server that died, wake-ups across servers and removing old
finished jobs.
"""
