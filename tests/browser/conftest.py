"""Real headless Chromium (Debian's ``chromium`` and ``chromium-driver``),
driven by Selenium, against a real daemon.

Without the browser, its driver or Selenium these tests are skipped,
saying what is missing; with ``REMOTETASK_REQUIRE_BROWSER=1`` (as CI
sets) that is a failure instead. Screenshots go to the directory named by
``REMOTETASK_ARTEFACTS`` (default: a temporary one).
"""

import contextlib
import os
import shutil
import tempfile

import pytest

from tests.acceptance.daemon import Daemons

CHROMIUM = shutil.which('chromium') or '/usr/bin/chromium'
CHROMEDRIVER = shutil.which('chromedriver') or '/usr/bin/chromedriver'
REQUIRED = os.environ.get('REMOTETASK_REQUIRE_BROWSER') == '1'
#: How long a test waits for the page to show something.
PATIENCE = 15
#: Both the daemon and the browser read times in this zone.
ZONE = {'TZ': 'UTC'}


def _missing():
    missing = [path for path in (CHROMIUM, CHROMEDRIVER)
               if not os.access(path, os.X_OK)]
    try:
        import selenium  # noqa: F401
    except ImportError:
        missing.append('the Python package selenium')
    return missing


def needBrowser():
    """Skip the calling test module (or, when required, fail it) unless
    Chromium, its driver and Selenium are all here. Called before a module
    imports selenium."""
    missing = _missing()
    if not missing:
        return
    reason = (f'no browser to test with: {", ".join(missing)} missing '
              '(apt-get install chromium chromium-driver; '
              'pip install selenium)')
    if REQUIRED:
        pytest.fail(f'{reason}; REMOTETASK_REQUIRE_BROWSER=1 makes this a '
                    'failure', pytrace=False)
    pytest.skip(reason, allow_module_level=True)


def makeDriver(profile):
    """A headless Chromium with a fresh profile in ``profile``."""
    from selenium import webdriver
    from selenium.webdriver.chrome.service import Service
    options = webdriver.ChromeOptions()
    options.binary_location = CHROMIUM
    for flag in ('--headless=new', '--no-sandbox', '--disable-gpu',
                 '--disable-dev-shm-usage', '--no-first-run',
                 '--disable-background-networking',
                 '--disable-component-update', '--disable-sync',
                 '--window-size=1400,1000', f'--user-data-dir={profile}'):
        options.add_argument(flag)
    options.set_capability('goog:loggingPrefs', {'browser': 'ALL'})
    service = Service(CHROMEDRIVER, env=dict(os.environ, **ZONE))
    driver = webdriver.Chrome(options=options, service=service)
    driver.set_page_load_timeout(PATIENCE)
    driver.set_script_timeout(PATIENCE)
    return driver


@contextlib.contextmanager
def openBrowser():
    """A headless Chromium with a profile of its own, quit afterwards."""
    with tempfile.TemporaryDirectory(prefix='remotetask-chromium-') as home:
        driver = makeDriver(home)
        try:
            yield driver
        finally:
            driver.quit()


@pytest.fixture(scope='module')
def browser():
    """One browser for the tests of a module; its console must stay free
    of script errors (a policy violation or an exception in the page)."""
    with openBrowser() as driver:
        yield driver


@pytest.fixture
def freshBrowser():
    """A browser of its own: the credentials it caches stay in it."""
    with openBrowser() as driver:
        yield driver


@pytest.fixture
def page(browser):
    """The browser, checked after the test for errors in the page."""
    browser.get_log('browser')
    yield browser
    errors = [entry['message'] for entry in browser.get_log('browser')
              if entry['level'] == 'SEVERE'
              and 'Failed to load resource' not in entry['message']]
    assert errors == []


@pytest.fixture(scope='session')
def artefacts(tmp_path_factory):
    """Where screenshots go: $REMOTETASK_ARTEFACTS, or a temporary
    directory."""
    directory = os.environ.get('REMOTETASK_ARTEFACTS')
    if directory:
        os.makedirs(directory, exist_ok=True)
        return directory
    return str(tmp_path_factory.mktemp('screenshots'))


@pytest.fixture
def startDashboard(tmp_path):
    """Start daemons with the dashboard, in the browser's time zone
    (killed after the test)."""
    daemons = Daemons(tmp_path, env=ZONE)
    yield daemons.start
    daemons.killAll()


def wait(driver, condition, message):
    """Wait (at most PATIENCE seconds) until ``condition(driver)``."""
    from selenium.webdriver.support.ui import WebDriverWait
    return WebDriverWait(driver, PATIENCE).until(condition, message)


def text(driver, selector):
    """The text of the first node ``selector`` finds, or None."""
    return driver.execute_script(
        'const node = document.querySelector(arguments[0]);'
        'return node ? node.textContent : null;', selector)


def screenshot(driver, artefacts, name):
    """Keep what the page shows as NAME.png in ``artefacts``; its path."""
    path = os.path.join(artefacts, f'{name}.png')
    driver.save_screenshot(path)
    return path
