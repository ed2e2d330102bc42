"""Tests for remotetask.core.zones: the zone cron schedules are read in
when none is named, always a real zone, never a fixed offset."""

import os
from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

import pytest

from remotetask.core.zones import localZone

BERLIN = ZoneInfo('Europe/Berlin')
ZONEINFO = '/usr/share/zoneinfo'
needsSystemZoneinfo = pytest.mark.skipif(
    not os.path.isdir(ZONEINFO), reason=f'no {ZONEINFO} on this machine')


@needsSystemZoneinfo
def test_localZoneFromTZ():
    """TZ names the zone, with or without ':', or as a file path."""
    assert localZone(environ={'TZ': 'Europe/Berlin'}) == BERLIN
    assert localZone(environ={'TZ': ':Asia/Tokyo'}) == ZoneInfo('Asia/Tokyo')
    zone = localZone(environ={'TZ': f'{ZONEINFO}/America/New_York'})
    assert isinstance(zone, ZoneInfo) and str(zone) == 'America/New_York'


@needsSystemZoneinfo
def test_localZoneFallsBackToLocaltimeThenUTC(tmp_path):
    """A bad TZ falls back to /etc/localtime, an unreadable one to UTC;
    each result is a real zone, never a fixed offset."""
    link = tmp_path / 'localtime'
    link.symlink_to(f'{ZONEINFO}/Europe/Berlin')
    zone = localZone(environ={'TZ': 'Not/AZone'}, localtime=str(link))
    assert zone == BERLIN
    copy = tmp_path / 'copied'
    copy.write_bytes(link.read_bytes())
    zone = localZone(environ={}, localtime=str(copy))
    assert zone.utcoffset(datetime(2024, 7, 1)) == timedelta(hours=2)
    assert zone.utcoffset(datetime(2024, 1, 1)) == timedelta(hours=1)
    zone = localZone(environ={}, localtime=str(tmp_path / 'missing'))
    assert zone == ZoneInfo('UTC')
