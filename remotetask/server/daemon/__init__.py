"""Assembling the daemon: its options, what it settles before starting,
its service tree (``tap``) and ``remotetask serve``.
"""
