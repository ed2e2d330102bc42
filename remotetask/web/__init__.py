"""The web face of the daemon beside XML-RPC: a dashboard at ``/``, its
JSON view at ``/api/...`` and Prometheus metrics at ``/metrics``.

``makeRoot`` builds the tree the daemon serves; docs/dashboard.md
documents the JSON view.
"""

from remotetask.web.root import makeRoot

__all__ = ['makeRoot']
