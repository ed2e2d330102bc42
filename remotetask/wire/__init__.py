"""The XML-RPC face: the resource, ``system.*`` and multicall, argument
checks, the one exception-to-Fault map, and the HTTP site around it.

The wire talks to the ``TaskService`` only, never to a store:
``tests/test_layers.py`` checks that nothing here imports the store
package.
"""
