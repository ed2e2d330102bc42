"""The server the command line talks to: its URL checked before use,
shown without its password, completed with credentials from the
environment, and hints for when it refuses or cannot be trusted."""

import os
import re
import ssl
import urllib.parse
import xmlrpc.client

from remotetask.clisupport import EXIT_USAGE, CommandError


#: A URL's scheme and ``//`` (either may be missing), its authority
#: (``user:password@host:port``) and the rest, split without parsing the
#: host: a URL too broken for ``urlsplit`` is still shown without its
#: password.
_AUTHORITY = re.compile(r'((?:[A-Za-z][A-Za-z0-9+.-]*:)?//)?([^/?#]*)(.*)',
                        re.S)


def shownURL(url, password=None):
    """``url`` as it may be printed: without its password, or with
    ``password`` (a placeholder) in its place."""
    head, authority, rest = _AUTHORITY.fullmatch(url).groups()
    userinfo, at, host = authority.rpartition('@')
    if not at or ':' not in userinfo:
        return url
    user = userinfo.partition(':')[0]
    secret = '' if password is None else f':{password}'
    return f'{head or ""}{user}{secret}@{host}{rest}'


def checkURL(url):
    """A usage error unless ``url`` is an http:// or https:// URL with a
    host and a port that is a number."""
    shown = shownURL(url)
    try:
        parts = urllib.parse.urlsplit(url)
        parts.port  # a ValueError unless it is a number from 0 to 65535
    except ValueError as error:
        raise CommandError(f'the server URL {shown} is not a valid URL: '
                           f'{error}', EXIT_USAGE) from None
    if '://' not in url:
        raise CommandError(
            f'the server URL {shown} has no scheme; write --url '
            f'http://{shownURL(url, "PASSWORD").rstrip("/")}/ (or '
            'https://)', EXIT_USAGE)
    if parts.scheme not in ('http', 'https') or not parts.hostname:
        raise CommandError(
            f'the server URL {shown} is not http:// or https://',
            EXIT_USAGE)


def serverURL(url, environ=os.environ):
    """``url`` with credentials from the environment where it has none;
    a usage error for a user without a password (sending none would only
    be refused, and count as a failed login)."""
    parts = urllib.parse.urlsplit(url)
    user = parts.username or urllib.parse.quote(
        environ.get('REMOTETASK_USER') or '', safe='')
    if not user or parts.password:
        return url
    password = environ.get('REMOTETASK_PASSWORD')
    if not password:
        whose = (f'the server URL {shownURL(url)} names the user '
                 f'{urllib.parse.unquote(user)!r}' if parts.username else
                 'REMOTETASK_USER is set')
        raise CommandError(
            f'{whose} but no password is given; set REMOTETASK_PASSWORD '
            '(or write it in the URL, user:PASSWORD@)', EXIT_USAGE)
    host = parts.netloc.rpartition('@')[2]
    netloc = f'{user}:{urllib.parse.quote(password, safe="")}@{host}'
    return urllib.parse.urlunsplit(parts._replace(netloc=netloc))


def connect(args):
    return xmlrpc.client.ServerProxy(serverURL(args.url), allow_none=True,
                                     use_builtin_types=True)


def refusal(url, errcode):
    """What to do about a refusal: for a 401, whose credentials were
    refused (never the password), or where to give them."""
    if errcode != 401:
        return ''
    user = urllib.parse.urlsplit(serverURL(url)).username
    if user:
        return (f'; the user {urllib.parse.unquote(user)!r} and the '
                'password given were refused')
    return ('; give credentials in the URL or REMOTETASK_USER and '
            'REMOTETASK_PASSWORD')


def untrusted(error):
    """What to do about a server certificate this machine does not
    trust (a self-signed one, or one of a private CA): the hint, or
    ''."""
    if not isinstance(error, ssl.SSLCertVerificationError):
        return ''
    return ('; to trust the server\'s own certificate (or its CA), name '
            'its PEM file in SSL_CERT_FILE: SSL_CERT_FILE=cert.pem '
            'remotetask ...')
