"""Compressed request bodies, decoded within the request size.

Python's ``xmlrpc.client`` (with ``encode_threshold`` set) sends bodies
with ``Content-Encoding: gzip``, Perl's RPC::XML with ``deflate``. Such a
body is decoded as it arrives, a chunk at a time, and never further than
``--max-request-size`` decoded bytes: a few kilobytes of gzip can inflate
to gigabytes, so the bound is applied to what the body decodes to, not to
what was sent. An encoding named otherwise is answered 415.
"""

import zlib

#: The encodings decoded, and zlib's ``wbits`` for each: 32 + 15 reads a
#: gzip or a zlib header; some clients send deflate raw (-15).
DECODED = {b'gzip': 47, b'x-gzip': 47, b'deflate': 47}
#: What an identity body may be named.
IDENTITY = (b'', b'identity')


class BodyTooLarge(Exception):
    """The body decodes to more than the request size allows."""


class BadEncoding(Exception):
    """The body is not what its Content-Encoding says."""


def encodingOf(request):
    """The request's Content-Encoding, lower case, ``b''`` if none."""
    values = request.requestHeaders.getRawHeaders(b'content-encoding') or []
    return b','.join(value.strip().lower() for value in values)


class Inflater:
    """Decodes a gzip or deflate body chunk by chunk; ``BodyTooLarge``
    once it passes ``limit`` decoded bytes, ``BadEncoding`` for data
    that is not of its encoding."""

    def __init__(self, encoding, limit):
        self.encoding = encoding.decode('latin-1')
        self.wbits = DECODED[encoding]
        self.limit = limit
        self.size = 0
        self.decoder = None
        self.start = b''

    def feed(self, data):
        """The decoded bytes of the next chunk ``data``."""
        if self.decoder is None:
            data = self._begin(data)
            if self.decoder is None:
                return b''
        try:
            decoded = self.decoder.decompress(data,
                                              self.limit + 1 - self.size)
        except zlib.error as error:
            raise BadEncoding(self._bad(error)) from None
        self.size += len(decoded)
        if self.size > self.limit:
            raise BodyTooLarge()
        if self.decoder.eof and self.decoder.unused_data.strip():
            raise BadEncoding(f'the body holds data after its '
                              f'{self.encoding} stream ends')
        return decoded

    def _begin(self, data):
        """Choose the decoder once two bytes tell a zlib header from raw
        deflate."""
        self.start += data
        if len(self.start) < 2:
            return b''
        data, self.start = self.start, b''
        wbits = self.wbits
        if self.encoding == 'deflate' and not _zlibHeader(data):
            wbits = -15
        self.decoder = zlib.decompressobj(wbits=wbits)
        return data

    def end(self):
        """Check that the stream ended where the body did."""
        if self.decoder is None or not self.decoder.eof:
            raise BadEncoding(f'the {self.encoding} stream is cut short')

    def _bad(self, error):
        return f'the body is not valid {self.encoding} ({error})'


def _zlibHeader(data):
    """Whether ``data`` starts with a zlib header (RFC 1950) or a gzip
    one: the form of deflate the HTTP standard names."""
    if data[:2] == b'\x1f\x8b':
        return True
    return data[0] & 0x0f == 8 and (data[0] << 8 | data[1]) % 31 == 0
