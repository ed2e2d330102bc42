"""The ``remotetask`` command: run the server, or talk to one.

``remotetask serve`` runs the same service as ``twistd -n remotetask``;
every other subcommand is an XML-RPC client of a running server at
``--url``. Whatever goes wrong (server unreachable, a Fault, bad JSON),
the user gets one line on stderr and a non-zero exit status, never a
traceback.

The command line is ``cliparser``'s, what each subcommand does
``clicommands``' (and ``clitokens``'), the server's URL ``cliserver``'s;
here, only how a command is run and how its failures end.
"""

import http.client
import os
import sys
import xmlrpc.client

from remotetask.clicommands import cmdServe
from remotetask.cliparser import makeParser
from remotetask.cliserver import (
    checkURL, connect, refusal, shownURL, untrusted)
from remotetask.clisupport import (
    EXIT_FAILED, EXIT_OUTPUT_CLOSED, EXIT_UNREACHABLE, EXIT_USAGE,
    CommandError, GuardedOutput, OutputClosed)


def _local(parser, args, rest):
    """Run a subcommand that needs no server."""
    if rest:
        parser.error(f'unrecognized arguments: {" ".join(rest)}')
    try:
        args.function(args)
    except CommandError as error:
        print(f'remotetask: {error}', file=sys.stderr)
        return error.status
    return 0


def main(argv=None):
    argv = sys.argv[1:] if argv is None else argv
    parser = makeParser()
    args, rest = parser.parse_known_args(argv)
    if args.command == 'serve':
        return cmdServe(args, rest)
    if args.command == 'hash-password':
        return _local(parser, args, rest)
    if rest:
        parser.error(f'unrecognized arguments: {" ".join(rest)}')
    stdout, sys.stdout = sys.stdout, GuardedOutput(sys.stdout)
    try:
        return run(args)
    except OutputClosed:
        # Nothing more can be said there, and Python's own flush at exit
        # would complain: send what is left nowhere.
        devnull = os.open(os.devnull, os.O_WRONLY)
        os.dup2(devnull, stdout.fileno())
        os.close(devnull)
        return EXIT_OUTPUT_CLOSED
    finally:
        sys.stdout = stdout


def run(args):
    """Run the client command ``args`` names; its exit status."""
    shown = shownURL(args.url)
    try:
        checkURL(args.url)
        args.function(connect(args), args)
        sys.stdout.flush()
    except CommandError as error:
        print(f'remotetask: {error}', file=sys.stderr)
        return error.status
    except xmlrpc.client.Fault as fault:
        print(f'remotetask: {fault.faultString} (fault {fault.faultCode})',
              file=sys.stderr)
        return EXIT_FAILED
    except xmlrpc.client.ProtocolError as error:
        print(f'remotetask: the server at {shown} answered {error.errcode} '
              f'{error.errmsg}{refusal(args.url, error.errcode)}',
              file=sys.stderr)
        return EXIT_FAILED
    except OutputClosed:
        raise
    except http.client.InvalidURL as error:
        print(f'remotetask: the server URL {shown} is not a valid URL: '
              f'{error}', file=sys.stderr)
        return EXIT_USAGE
    except (OSError, xmlrpc.client.Error) as error:
        print(f'remotetask: cannot reach the server at {shown}: '
              f'{getattr(error, "strerror", None) or error}'
              f'{untrusted(error)}', file=sys.stderr)
        return EXIT_UNREACHABLE
    except KeyboardInterrupt:
        return 130
    return 0
