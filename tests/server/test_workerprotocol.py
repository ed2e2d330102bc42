"""The framing between the server and its worker processes."""

import io
import json

import pytest

from remotetask.server.workers.workerprotocol import (
    MessageReceiver, decode, encode, frame, readMessages)


class Collector(MessageReceiver):

    MAX_LENGTH = 2 ** 31 - 1

    def __init__(self):
        self.got = []
        self.tooLong = []

    def lengthLimitExceeded(self, length):
        self.tooLong.append(length)

    def messagesReceived(self, messages):
        self.got.append(messages)


def feed(receiver, data, size):
    for start in range(0, len(data), size):
        receiver.dataReceived(data[start:start + size])


def messages(frames):
    """Fresh copies of ``[(header, body)]`` (sending gives a header with
    a body its size)."""
    return [(dict(header), body) for header, body in frames]


def test_messages_survive_any_split_into_reads():
    """Frames cut at every byte, or several in one read, arrive whole
    and in order, each body exactly as sent (newlines and characters
    outside ASCII included), several messages to a frame."""
    several = [({'run': 1, 'task': 'echo'}, '{"a":\n"b"}'),
               ({'recall': 1}, None), ({'run': 2, 'task': 'echo'}, '"é"'),
               ({'ended': 2, 'ok': True}, '')]
    data = frame(messages(several[:1])) + frame(messages(several[1:])) + \
        frame([])
    for size in (1, 3, 7, len(data)):
        receiver = Collector()
        feed(receiver, data, size)
        assert [message for got in receiver.got for message in got] == \
            several


def test_reads_of_one_whole_frame_each_arrive_alone_and_in_order():
    """A read that is exactly one frame (most are) is delivered in one
    call, as are frames cut across reads before and after it."""
    frames = [[({'started': k}, None)] for k in range(3)] + \
        [[({'ended': 3, 'ok': True}, '"x"')]]
    whole = [frame(messages(found)) for found in frames]
    receiver = Collector()
    receiver.dataReceived(whole[0])
    receiver.dataReceived(whole[1][:2])
    receiver.dataReceived(whole[1][2:] + whole[2][:5])
    receiver.dataReceived(whole[2][5:])
    receiver.dataReceived(whole[3])
    assert receiver.got == frames
    assert receiver._unprocessed == b''


def test_the_frames_one_read_completes_arrive_in_one_call():
    """All the frames one read completes reach messagesReceived together,
    in order (a busy worker's dozens of frames are parsed in one pass);
    a frame cut by the read arrives with the read that completes it."""
    frames = [[({'ended': k, 'ok': True, 'started': k + 1}, f'[{k}]')]
              for k in range(40)]
    data = b''.join(frame(messages(found)) for found in frames)
    receiver = Collector()
    receiver.dataReceived(data)
    assert receiver.got == [[found[0] for found in frames]]
    cut = len(frame(messages(frames[0]))) + 3
    receiver = Collector()
    receiver.dataReceived(data[:cut])
    receiver.dataReceived(data[cut:])
    assert receiver.got == [[frames[0][0]], [found[0] for found in frames[1:]]]


def test_a_large_message_is_kept_in_chunks_and_joined_once():
    """A message larger than SMALL is not re-joined at every read: its
    chunks are kept aside (the base class's buffer stays small) and the
    whole arrives once, followed by whatever came after it."""
    body = 'x' * (3 * 1024 * 1024)
    data = frame([({'ended': 1, 'ok': True}, body)]) + frame(
        [({'started': 2}, None)])
    receiver = Collector()
    largest = 0
    for start in range(0, len(data), 8192):
        receiver.dataReceived(data[start:start + 8192])
        largest = max(largest, len(receiver._unprocessed))
    assert largest <= MessageReceiver.SMALL + 8192
    assert receiver.got == [[({'ended': 1, 'ok': True}, body),
                             ({'started': 2}, None)]]


def test_the_worker_side_reads_what_the_server_side_frames():
    """readMessages() on a plain file takes the same framing, and says
    None at the end of the stream (the server hung up)."""
    stream = io.BytesIO(frame([({'run': 7, 'task': 't'}, 'null'),
                               ({'run': 8, 'task': 't'}, '[1]')])
                        + frame([({'recall': 7}, None)]))
    assert readMessages(stream) == [({'run': 7, 'task': 't'}, 'null'),
                                    ({'run': 8, 'task': 't'}, '[1]')]
    assert readMessages(stream) == [({'recall': 7}, None)]
    assert readMessages(stream) is None
    assert readMessages(io.BytesIO(frame([({'cut': 1}, None)])[:-1])) is None


def test_a_message_over_the_limit_is_refused_not_buffered():
    """A length over MAX_LENGTH is refused when its prefix arrives (the
    pool then drops that worker), before any of it is kept."""
    receiver = Collector()
    receiver.MAX_LENGTH = 1000
    receiver.dataReceived(frame([({'ended': 1, 'ok': True}, 'x' * 5000)])[
        :100])
    assert receiver.tooLong == [5000 + len(
        '[{"ended":1,"ok":true,"size":5000}]\n')]
    assert receiver.got == []


def test_headers_are_compact_json_and_refuse_what_json_cannot_carry():
    """A frame's headers are the compact JSON json.dumps writes (text
    outside ASCII escaped, floats exact); a header JSON cannot carry
    is refused as json.dumps refuses it, not sent."""
    heads = [{'ended': 3, 'ok': False, 'error': 'é\u2028\x00"', 'took': 1e-07,
              'retry': True, 'traceback': None},
             {'progress': 4, 'fraction': 0.5, 'at': 1765000000.25}]
    payload = encode([(head, None) for head in heads])
    assert payload.split(b'\n', 1)[0] == json.dumps(
        heads, separators=(',', ':')).encode()
    assert decode(payload) == [(head, None) for head in heads]
    with pytest.raises(TypeError):
        encode([({'run': 1, 'task': object()}, None)])
