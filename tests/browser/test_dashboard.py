"""The dashboard in real headless Chromium against the real daemon: what
an operator sees and does. One screenshot of each page is kept."""

import os
import shutil

from tests.acceptance.daemon import ROOT, isRunning, waitUntil
from tests.browser.conftest import (
    PATIENCE, needBrowser, screenshot, text, wait)

needBrowser()

from selenium.webdriver.common.by import By  # noqa: E402
from selenium.webdriver.support.select import Select  # noqa: E402


def rowIds(driver, table='jobs-table'):
    """The job ids of a table's rows, read at once (rows are redrawn)."""
    return driver.execute_script(
        'return [...document.querySelectorAll(arguments[0])]'
        '.map((row) => Number(row.dataset.id));',
        f'#{table} tbody tr[data-id]')


def test_list_shows_jobs_added_over_xmlrpc_and_filters_narrow_it(
        page, startDashboard, artefacts):
    """Jobs added over XML-RPC appear in the list, newest first; the text
    filter and the status filter narrow it to the matching jobs."""
    daemon = startDashboard('--workers=1')
    server = daemon.proxy()
    ids = [server.add('echo', {'file': f'video{i}.mp4'}) for i in range(5)]
    needle = server.add('echo', {'file': 'needle.mp4'})
    crash = server.add('crash', {'file': 'broken.mp4'})
    waitUntil(lambda: server.getStatus(crash) == 'error', PATIENCE)
    sleeper = server.add('sleep', 30)
    waitUntil(lambda: isRunning(server, sleeper), PATIENCE)
    queued = server.add('echo', {'file': 'waiting.mp4'})
    later = server.add('echo', {'file': 'later.mp4'}, True)
    cron = server.addCronJob('echo', {'report': 'daily'},
                             {'hour': [3], 'minute': [30]})
    page.get(daemon.url + '#/jobs')
    everything = sorted(ids + [needle, crash, sleeper, queued, later, cron],
                        reverse=True)
    wait(page, lambda d: rowIds(d) == everything,
         'the list to show every job, newest first')
    assert text(page, '#status-cards [data-status="error"] .count') == '1'
    path = screenshot(page, artefacts, 'jobs')
    if os.environ.get('REMOTETASK_README_SCREENSHOT') == '1':
        shutil.copy(path, os.path.join(ROOT, 'docs', 'dashboard.png'))

    page.find_element(By.ID, 'filter-text').send_keys('needle')
    wait(page, lambda d: rowIds(d) == [needle], 'the text filter')
    assert '#/jobs?text=needle' in page.current_url
    page.find_element(By.ID, 'filter-clear').click()
    Select(page.find_element(By.ID, 'filter-status')).select_by_value(
        'error')
    wait(page, lambda d: rowIds(d) == [crash], 'the status filter')
    assert 'ValueError' in text(page, f'tr[data-id="{crash}"] td.preview')


def test_counts_are_pluralised(page, startDashboard):
    """The queue's facts say "1 job", not "1 jobs", and "2 jobs"."""
    daemon = startDashboard('--workers=1')
    server = daemon.proxy()
    server.add('echo', 1, True)
    page.get(daemon.url + '#/jobs')
    wait(page, lambda d: (text(d, '#queue-facts') or '').startswith(
        '1 job · 0 queued'), 'one job counted')
    server.add('echo', 2, True)
    page.refresh()
    wait(page, lambda d: (text(d, '#queue-facts') or '').startswith(
        '2 jobs · 0 queued'), 'two jobs counted')


def test_cancel_button_cancels_a_queued_job(page, startDashboard,
                                            artefacts):
    """With the only worker busy, a queued job's Cancel button (clicked
    twice: the second click confirms) cancels it; the running job shows
    on the workers page."""
    daemon = startDashboard('--workers=1')
    server = daemon.proxy()
    sleeper = server.add('sleep', 30)
    waitUntil(lambda: isRunning(server, sleeper), PATIENCE)
    queued = server.add('echo', {'file': 'cancel me'})
    page.get(daemon.url + '#/jobs')
    button = f'#jobs-table tr[data-id="{queued}"] button[data-action=cancel]'
    wait(page, lambda d: d.find_elements(By.CSS_SELECTOR, button),
         'the cancel button')
    page.find_element(By.CSS_SELECTOR, button).click()
    wait(page, lambda d: 'armed' in d.find_element(
        By.CSS_SELECTOR, button).get_attribute('class'), 'confirmation')
    assert server.getStatus(queued) == 'queued'
    page.find_element(By.CSS_SELECTOR, button).click()
    waitUntil(lambda: server.getStatus(queued) == 'cancelled', PATIENCE)
    wait(page, lambda d: text(d, f'tr[data-id="{queued}"] .badge')
         == 'cancelled', 'the list to show the job cancelled')

    page.get(daemon.url + '#/workers')
    wait(page, lambda d: rowIds(d, 'running-table') == [sleeper],
         'the running job on the workers page')
    assert '1 of 1 workers busy' in text(page, '#this-server')
    screenshot(page, artefacts, 'workers')


def test_failed_job_page_shows_error_and_traceback(page, startDashboard,
                                                   artefacts):
    """A failed job's page shows its error, its traceback, its input and
    the failed attempt."""
    daemon = startDashboard('--workers=1')
    server = daemon.proxy()
    crash = server.add('crash', {'file': 'broken.mp4'})
    waitUntil(lambda: server.getStatus(crash) == 'error', PATIENCE)
    page.get(daemon.url + f'#/jobs/{crash}')
    wait(page, lambda d: text(d, '#job-traceback'), 'the traceback')
    assert text(page, '#job-error') == (
        "ValueError: cannot handle {'file': 'broken.mp4'}")
    traceback = text(page, '#job-traceback')
    assert traceback.startswith('Traceback (most recent call last)')
    assert 'in crash' in traceback
    assert '"file": "broken.mp4"' in text(page, '#job-input')
    assert len(page.find_elements(By.CSS_SELECTOR, '#attempts tbody tr')) == 1
    assert page.find_elements(By.CSS_SELECTOR, 'button[data-action=retry]')
    screenshot(page, artefacts, 'job')


def test_cron_job_shows_its_schedule_and_next_run(page, startDashboard,
                                                  artefacts):
    """A cron job is listed with its schedule in words and the time of
    its next run, as the server has it."""
    daemon = startDashboard('--workers=1')
    server = daemon.proxy()
    daily = server.addCronJob('echo', {}, {'hour': [3], 'minute': [30]})
    weekdays = server.addCronJob('echo', {}, {'crontab': '0 9 * * 1-5'})
    waitUntil(lambda: server.getJob(daily).get('nextRun'), PATIENCE)
    nextRun = server.getJob(daily)['nextRun']
    page.get(daemon.url + '#/cron')
    row = f'#cron-table tr[data-id="{daily}"]'
    wait(page, lambda d: text(d, row), 'the cron job')
    shown = text(page, f'{row} .next-run')
    # Both run in UTC here: 2026-11-28T03:30:07+00:00 -> 2026-11-28 03:30:07
    assert shown.startswith(nextRun[:19].replace('T', ' '))
    assert text(page, f'{row} td:nth-child(3)') == 'at 03:30'
    assert 'Monday-Friday' in text(page, f'tr[data-id="{weekdays}"]')
    screenshot(page, artefacts, 'cron')


def test_add_form_checks_the_input_and_adds_the_job(page, startDashboard,
                                                    artefacts):
    """The add form picks a task, refuses input that is not JSON before
    sending it, and adds the job, showing its page."""
    daemon = startDashboard('--workers=1')
    server = daemon.proxy()
    page.get(daemon.url + '#/add')
    wait(page, lambda d: d.find_elements(
        By.CSS_SELECTOR, '#add-task option[value=echo]'), 'the tasks')
    Select(page.find_element(By.ID, 'add-task')).select_by_value('echo')
    assert text(page, '#add-about') == 'Return the input unchanged.'
    field = page.find_element(By.ID, 'add-input')
    field.clear()
    field.send_keys('{"hello": ')
    assert text(page, '#add-check').startswith('Not valid JSON')
    page.find_element(By.ID, 'add-submit').click()
    field.send_keys('"world"}')
    assert text(page, '#add-check') == 'Valid JSON.'
    screenshot(page, artefacts, 'add')
    page.find_element(By.ID, 'add-submit').click()
    wait(page, lambda d: '#/jobs/' in d.current_url, 'the job page')
    jobid = int(page.current_url.rsplit('/', 1)[1])
    assert server.getJob(jobid)['input'] == {'hello': 'world'}
    wait(page, lambda d: text(d, '.title .badge') == 'completed',
         'the job to complete')
    assert '"hello": "world"' in text(page, '#job-output')


def test_a_job_too_large_to_send_shows_what_was_left_out(page,
                                                         startDashboard):
    """The page of a job whose output is larger than --max-answer-size
    shows the job all the same: its status and input, and in place of
    the output its stored size and the option that bounds it."""
    daemon = startDashboard('--workers=1', '--max-answer-size=1M')
    server = daemon.proxy()
    jobid = server.add('sized', 2_000_000)
    waitUntil(lambda: server.getStatus(jobid) == 'completed', PATIENCE)
    page.get(daemon.url + f'#/jobs/{jobid}')
    wait(page, lambda d: text(d, '#job-output'), 'the output block')
    assert text(page, '#job-output') == (
        '(2000002 bytes stored: more than the server sends in one answer; '
        'see --max-answer-size)')
    assert text(page, '#job-input') == '2000000'


def dotColour(driver, jobid):
    """The colours of the timeline's dots of the job's page, by event."""
    return driver.execute_script(
        'return [...document.querySelectorAll("#timeline li")].map((li) =>'
        ' [li.dataset.event, li.classList.contains("ev-failed"),'
        ' getComputedStyle(li.querySelector(".dot")).backgroundColor]);')


def test_delays_failures_and_the_queue_line_are_told_apart(
        page, startDashboard, artefacts):
    """A job added with a delay of an hour lists as queued, "due in 59
    min ..."; a failed attempt's dot in the timeline is not the colour of
    a success; the chart's queue line is drawn boldly and both its scales
    say what they count."""
    daemon = startDashboard('--workers=1')
    server = daemon.proxy()
    later = server.add('echo', 'later', {'delay': 3600})
    ok = server.add('echo', 'now')
    crash = server.add('crash', {'file': 'broken.mp4'})
    waitUntil(lambda: server.getStatus(crash) == 'error', PATIENCE)
    assert server.getStatus(ok) == 'completed'
    page.get(daemon.url + '#/jobs')
    row = f'#jobs-table tr[data-id="{later}"]'
    wait(page, lambda d: (text(d, f'{row} .due') or '').startswith(
        'due in 59 min'), 'the due time of the delayed job')
    assert text(page, f'#jobs-table tr[data-id="{ok}"] .due') is None
    wait(page, lambda d: text(d, '#chart-runs-scale') == 'runs / min',
         'the chart')
    assert text(page, '#chart-queue-scale') == 'queued'
    # The line is drawn once the queue has been sampled twice; its style
    # is read from a line drawn as the chart draws it.
    width = page.execute_script(
        'const line = document.createElementNS('
        '"http://www.w3.org/2000/svg", "polyline");'
        'line.setAttribute("class", "queue");'
        'document.querySelector("#chart-svg").append(line);'
        'const width = getComputedStyle(line).strokeWidth;'
        'line.remove(); return parseFloat(width);')
    assert width >= 2.5
    screenshot(page, artefacts, 'due-and-chart')
    colours = {}
    for jobid in (ok, crash):
        page.get(daemon.url + f'#/jobs/{jobid}')
        wait(page, lambda d: [e for e, _, _ in dotColour(d, jobid)][-1:] ==
             ['ended'], 'the timeline')
        colours[jobid] = dotColour(page, jobid)[-1]
    assert colours[ok][1:] != colours[crash][1:]
    assert colours[crash][1] is True and colours[ok][1] is False
