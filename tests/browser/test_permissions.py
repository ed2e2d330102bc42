"""Issue 22 in real headless Chromium: a caller's dashboard lists its own
jobs alone and offers only its tasks; a viewer's shows every job with
its buttons disabled, saying why."""

import os

import pytest

from tests.acceptance.permissions import USERS, proxy, writeFiles
from tests.browser.conftest import PATIENCE, needBrowser

needBrowser()

from selenium.webdriver.common.by import By  # noqa: E402
from selenium.webdriver.support.ui import WebDriverWait  # noqa: E402


@pytest.fixture
def rolesDashboard(tmp_path, startDashboard):
    """A dashboard daemon with the users and roles files."""
    users, roles = writeFiles(tmp_path)
    return startDashboard('--workers=1', f'--users={users}',
                          f'--roles={roles}', '--login-delay=0')


def signIn(driver, daemon, user, fragment):
    driver.get(f'http://{user}:{USERS[user]}@127.0.0.1:{daemon.port}/'
               f'{fragment}')


def rows(driver):
    return {int(row.get_attribute('data-id')) for row in
            driver.find_elements(By.CSS_SELECTOR, 'tr[data-id]')}


def test_a_caller_sees_its_own_jobs_and_tasks(freshBrowser, rolesDashboard,
                                              artefacts):
    """reports' job list holds its job and not shop's; its add form
    offers echo alone; shop's job page is "not found" for it."""
    daemon = rolesDashboard
    theirs = proxy(daemon, 'shop').add('sleep', 30, True)
    mine = proxy(daemon, 'reports').add('echo', 'mine', True)
    driver = freshBrowser
    signIn(driver, daemon, 'reports', '#/jobs')
    WebDriverWait(driver, PATIENCE).until(
        lambda d: mine in rows(d), 'its own job listed')
    assert theirs not in rows(driver)
    driver.save_screenshot(os.path.join(artefacts, 'permissions-caller.png'))
    driver.get(f'http://127.0.0.1:{daemon.port}/#/add')
    WebDriverWait(driver, PATIENCE).until(
        lambda d: d.find_elements(By.CSS_SELECTOR, '#add-task option'),
        'the tasks')
    options = [option.get_attribute('value') for option in
               driver.find_elements(By.CSS_SELECTOR, '#add-task option')]
    assert options == ['echo']
    driver.get(f'http://127.0.0.1:{daemon.port}/#/jobs/{theirs}')
    WebDriverWait(driver, PATIENCE).until(
        lambda d: d.find_elements(By.CSS_SELECTOR, '.job .empty'),
        'the job refused')
    assert 'There is no job with id' in driver.find_element(
        By.CSS_SELECTOR, '.job .empty').text


def test_a_viewer_sees_every_job_and_disabled_buttons(freshBrowser,
                                                      rolesDashboard,
                                                      artefacts):
    """monitor's list holds both callers' jobs; a job's Cancel and Start
    buttons are disabled with the reason as their title; its page names
    who added it; the add form's button is disabled, saying why."""
    daemon = rolesDashboard
    shops = proxy(daemon, 'shop').add('sleep', 30, True)
    reports = proxy(daemon, 'reports').add('echo', 'x', True)
    driver = freshBrowser
    signIn(driver, daemon, 'monitor', '#/jobs')
    WebDriverWait(driver, PATIENCE).until(
        lambda d: {shops, reports} <= rows(d), 'both jobs listed')
    driver.get(f'http://127.0.0.1:{daemon.port}/#/jobs/{shops}')
    button = 'button[data-action=cancel]'
    WebDriverWait(driver, PATIENCE).until(
        lambda d: d.find_elements(By.CSS_SELECTOR, button), 'the job')
    for name in ('cancel', 'start'):
        shown = driver.find_element(By.CSS_SELECTOR,
                                    f'button[data-action={name}]')
        assert not shown.is_enabled()
        assert 'monitor is a viewer' in shown.get_attribute('title')
    assert 'shop' in driver.find_element(By.ID, 'job-facts').text
    driver.save_screenshot(os.path.join(artefacts, 'permissions-viewer.png'))
    driver.find_element(By.CSS_SELECTOR, button).click()
    assert proxy(daemon, 'admin').getStatus(shops) == 'start later'
    driver.get(f'http://127.0.0.1:{daemon.port}/#/add')
    WebDriverWait(driver, PATIENCE).until(
        lambda d: d.find_elements(By.ID, 'add-refused'), 'the reason')
    assert not driver.find_element(By.ID, 'add-submit').is_enabled()
    assert 'viewer' in driver.find_element(By.ID, 'add-refused').text
