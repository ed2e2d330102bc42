from twisted.application.service import ServiceMaker

remotetask = ServiceMaker(
    'remotetask',
    'remotetask.tap',
    'A server that runs pre-defined tasks for other servers (XML-RPC).',
    'remotetask',
)
