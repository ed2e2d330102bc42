"""What ``system.methodSignature`` answers for each method.

A signature is ``[returnType, paramType, ...]``, in the type names of
XML-RPC introspection (``int``, ``boolean``, ``string``, ``double``,
``dateTime.iso8601``, ``base64``, ``struct``, ``array``, ``nil``); a method
with optional parameters has one signature per number of arguments.
``any`` stands for a value of any of these types: a job's input and
result. A test checks that every published method has an entry here and
that its lengths fit the method's parameters.
"""

ANY = 'any'

SIGNATURES = {
    'getAvailableTasks': [['array']],
    'getTaskDescriptions': [['struct']],
    'add': [['int', 'string'], ['int', 'string', ANY],
            ['int', 'string', ANY, 'boolean'],
            ['int', 'string', ANY, 'struct']],
    'addAndWait': [['struct', 'string'], ['struct', 'string', ANY],
                   ['struct', 'string', ANY, 'int'],
                   ['struct', 'string', ANY, 'double'],
                   ['struct', 'string', ANY, 'int', 'struct'],
                   ['struct', 'string', ANY, 'double', 'struct']],
    'addChain': [['array', 'array']],
    'addGroup': [['array', 'array'], ['array', 'array', 'array'],
                 ['array', 'array', 'struct']],
    'addCronJob': [['int', 'string'], ['int', 'string', ANY],
                   ['int', 'string', ANY, 'struct']],
    'startJob': [['boolean', 'int']],
    'cancel': [['boolean', 'int']],
    'retry': [['boolean', 'int']],
    'runNow': [['boolean', 'int']],
    'getStatus': [['string', 'int']],
    'getResult': [[ANY, 'int']],
    'getError': [['string', 'int'], ['nil', 'int']],
    'getJob': [['struct', 'int']],
    'getJobs': [['struct'], ['struct', 'struct']],
    'wait': [['string', 'int'], ['string', 'int', 'int'],
             ['string', 'int', 'double']],
    'clean': [['int'], ['int', 'array']],
    'token.create': [['struct', 'string', 'string'],
                     ['struct', 'string', 'string', 'array'],
                     ['struct', 'string', 'string', 'array', 'int'],
                     ['struct', 'string', 'string', 'array', 'double']],
    'token.list': [['array']],
    'token.revoke': [['boolean', 'string']],
    'system.listMethods': [['array']],
    'system.methodHelp': [['string', 'string']],
    'system.methodSignature': [['array', 'string']],
    'system.multicall': [['array', 'array']],
}

#: Zope's introspection answered these without the ``system.`` prefix too,
#: and clients written for lovely.remotetask call them so.
UNPREFIXED = {'listMethods': 'system.listMethods',
              'methodHelp': 'system.methodHelp',
              'methodSignature': 'system.methodSignature'}


def canonicalName(name):
    """The published name of the method ``name`` calls."""
    return UNPREFIXED.get(name, name)
