"""The command line's progress line, local times and event timeline,
without a server."""

import io

from remotetask.clisupport import ProgressLine, localTime, showEvents

HALF = {'fraction': 0.5, 'message': 'half'}


class Terminal(io.StringIO):
    def isatty(self):
        return True


def test_on_a_terminal_one_line_is_redrawn_in_place():
    """Each draw rewrites the line (carriage return, padded over the
    longer one before); the end moves below it."""
    out = Terminal()
    line = ProgressLine(out)
    line.draw(1.0, 'processing', HALF)
    line.draw(2.0, 'queued', None)
    line.end()
    first, second = out.getvalue().split('\r')[1:]
    assert first == '    1.0 s  processing  [##########----------]  50%  half'
    assert second.rstrip('\n').rstrip() == '    2.0 s  queued'
    assert len(second.rstrip('\n')) == len(first)
    assert out.getvalue().endswith('\n')


def test_elsewhere_a_line_is_written_only_when_something_changed():
    """Written to a file, the line appears once per change of status or
    progress, not once per second."""
    out = io.StringIO()
    line = ProgressLine(out)
    line.draw(1.0, 'queued', None)
    line.draw(2.0, 'queued', None)
    line.draw(3.0, 'processing', HALF)
    line.draw(4.0, 'processing', HALF)
    line.draw(5.0, 'processing', {'fraction': 0.75})
    assert [text.split('s', 1)[1].strip() for text in
            out.getvalue().splitlines()] == [
        'queued', 'processing  [##########----------]  50%  half',
        'processing  [###############-----]  75%']


def test_times_are_local_with_their_zone(monkeypatch):
    """A server's UTC time is shown in this machine's zone, named."""
    monkeypatch.setenv('TZ', 'Europe/Berlin')
    import time
    time.tzset()
    try:
        assert localTime('2026-01-15T12:00:00+00:00') == \
            '2026-01-15 13:00:00 CET'
        assert localTime('2026-07-15T12:00:00+00:00') == \
            '2026-07-15 14:00:00 CEST'
        assert localTime(None) == ''
    finally:
        monkeypatch.undo()
        time.tzset()


def test_events_are_a_timeline_with_their_details():
    """One line per event, oldest first: local time, name, details,
    server."""
    out = io.StringIO()
    showEvents({'events': [
        {'at': '2026-01-15T12:00:00+00:00', 'event': 'added',
         'server': 'a:1'},
        {'at': '2026-01-15T12:00:01+00:00', 'event': 'started',
         'server': 'a:1', 'attempt': 1}]}, out)
    lines = out.getvalue().splitlines()
    assert lines[0] == 'events:'
    assert lines[1].endswith('added    (a:1)')
    assert lines[2].endswith('started  attempt 1  (a:1)')
