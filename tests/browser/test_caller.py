"""What a caller sees of a job, in real headless Chromium against the
real daemon: the progress bar of a running job, a job's timeline, the
chart of the last hour, and times with their zone."""

import os
import shutil

from tests.acceptance.daemon import ROOT, waitUntil
from tests.browser.conftest import (
    PATIENCE, needBrowser, screenshot, text, wait)

needBrowser()

from selenium.webdriver.common.by import By  # noqa: E402


def readme(path, name):
    """Keep the screenshot for the README when asked to."""
    if os.environ.get('REMOTETASK_README_SCREENSHOT') == '1':
        shutil.copy(path, os.path.join(ROOT, 'docs', f'{name}.png'))


def chartBars(driver):
    """How many bars of finished and failed runs the chart draws, and
    how many samples of the queue's depth."""
    return driver.execute_script(
        'const sum = (kind) => [...document.querySelectorAll('
        '`#chart-svg rect.${kind}`)].length;'
        'return {finished: sum("finished"), failed: sum("failed"),'
        ' queue: document.querySelectorAll("#chart-svg circle.queue")'
        '.length};')


def test_progress_bar_timeline_and_chart(page, startDashboard, artefacts,
                                         tmp_path):
    """A running job's row and page show its progress bar (50 %, its
    message) and "running for"; a job retried once has the timeline
    added, started, retried, started, ended; the front page's chart has
    bars for the runs that finished and failed this hour; times show
    their zone."""
    daemon = startDashboard('--workers=2')
    server = daemon.proxy()
    done = [server.add('echo', {'n': n}) for n in range(6)]
    failed = [server.add('crash', {'file': f'bad{n}.mp4'}) for n in range(2)]
    retried = server.add('failsOnce', {'marker': str(tmp_path / 'marker')})
    for jobid in done + failed + [retried]:
        assert server.wait(jobid, PATIENCE) in ('completed', 'error')
    running = server.add('progressing', {'release': str(tmp_path / 'r')})
    waitUntil(lambda: 'progress' in server.getJob(running), PATIENCE)

    page.get(daemon.url + '#/jobs')
    row = f'#jobs-table tr[data-id="{running}"]'
    wait(page, lambda d: text(d, f'{row} .progress .label') == '50% · half',
         'the progress bar of the running job')
    bar = page.find_element(By.CSS_SELECTOR, f'{row} .progress')
    assert bar.get_attribute('aria-valuenow') == '50'
    assert text(page, f'{row} .running-for').startswith('running for ')
    wait(page, lambda d: chartBars(d)['finished'] >= 1
         and chartBars(d)['failed'] >= 1 and chartBars(d)['queue'] >= 1,
         'the chart of the last hour, with the queue sampled')
    assert 'finished' in text(page, '#chart-totals')
    assert text(page, f'{row} time').endswith(' UTC')
    readme(screenshot(page, artefacts, 'progress-and-chart'), 'progress')

    page.find_element(By.CSS_SELECTOR, '#chart button[data-span=day]').click()
    wait(page, lambda d: len(d.find_elements(
        By.CSS_SELECTOR, '#chart-svg g.bar')) == 144, 'the day in 144 bars')

    page.get(daemon.url + f'#/jobs/{running}')
    wait(page, lambda d: text(d, '#job-progress .label') == '50% · half',
         'the progress on the job page')
    assert 'Running for' in text(page, '#job-facts')

    page.get(daemon.url + f'#/jobs/{retried}')
    wait(page, lambda d: d.execute_script(
        'return [...document.querySelectorAll("#timeline li")]'
        '.map((li) => li.dataset.event);') == [
        'added', 'started', 'retried', 'started', 'ended'],
        'the timeline of the retried job')
    assert 'the first attempt fails' in text(page, '#timeline')
    assert 'attempt 2' in text(page, '#timeline')
    readme(screenshot(page, artefacts, 'timeline'), 'timeline')


def test_cron_next_runs_are_shown_in_the_zone_schedules_are_read_in(
        page, startDashboard):
    """With --timezone Europe/Berlin and a browser in UTC, a cron job's
    next run is shown in Berlin time, named, as its schedule reads; the
    page says which zone that is."""
    daemon = startDashboard('--workers=1', '--timezone=Europe/Berlin')
    server = daemon.proxy()
    daily = server.addCronJob('echo', {}, {'hour': [3], 'minute': [30]})
    waitUntil(lambda: server.getJob(daily).get('nextRun'), PATIENCE)
    page.get(daemon.url + '#/cron')
    row = f'#cron-table tr[data-id="{daily}"]'
    wait(page, lambda d: text(d, f'{row} .next-run'), 'the cron job')
    shown = text(page, f'{row} .next-run')
    assert shown[11:16] == '03:30'
    assert shown.split(' (')[0].endswith(('CET', 'CEST', 'GMT+1', 'GMT+2'))
    assert 'Europe/Berlin' in text(page, '#cron-zone')
