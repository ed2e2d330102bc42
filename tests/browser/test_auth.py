"""The dashboard behind ``--users``, in real headless Chromium: the page
acts with the credentials the browser was given and its CSRF token, and
the server refuses an action that comes without either."""

from tests.acceptance.daemon import waitUntil
from tests.browser.conftest import PATIENCE, needBrowser

needBrowser()

from selenium.webdriver.common.by import By  # noqa: E402
from selenium.webdriver.support.ui import WebDriverWait  # noqa: E402

#: POST from the page; ``how`` picks what goes with it. Returns the status.
#: (The page's own address holds the credentials, which fetch refuses.)
POST = '''
const [path, how, done] = arguments;
const token = document.querySelector('meta[name="remotetask-csrf"]').content;
const headers = how === 'no token' ? {} : {'X-Remotetask-CSRF': token};
fetch(new URL(path, location.origin), {method: 'POST', headers,
             credentials: how === 'no credentials' ? 'omit' : 'same-origin'})
  .then((response) => done(response.status), (error) => done(String(error)));
'''


def test_actions_need_credentials_and_the_token(freshBrowser, tmp_path,
                                                startDashboard, artefacts):
    """Signed in, the page's Cancel works; the same request from the page
    without the credentials is refused with 401, and without the token
    with 403, and neither changes the job. Without credentials the page
    itself is not served."""
    users = tmp_path / 'users'
    users.write_text('ann:secret\n')
    daemon = startDashboard('--workers=1', f'--users={users}')
    server = daemon.proxy('ann', 'secret')
    later = server.add('echo', {'x': 1}, True)
    other = server.add('echo', {'x': 2}, True)
    driver = freshBrowser

    driver.get(daemon.url)
    assert not driver.find_elements(By.ID, 'view')

    driver.get(f'http://ann:secret@127.0.0.1:{daemon.port}/#/jobs')
    button = f'tr[data-id="{later}"] button[data-action=cancel]'
    WebDriverWait(driver, PATIENCE).until(
        lambda d: d.find_elements(By.CSS_SELECTOR, button), 'the list')
    path = f'/api/jobs/{later}/cancel'
    assert driver.execute_async_script(POST, path, 'no credentials') == 401
    assert driver.execute_async_script(POST, path, 'no token') == 403
    assert server.getStatus(later) == 'start later'

    driver.find_element(By.CSS_SELECTOR, button).click()
    driver.find_element(By.CSS_SELECTOR, button).click()
    waitUntil(lambda: server.getStatus(later) == 'cancelled', PATIENCE)
    assert driver.execute_async_script(
        POST, f'/api/jobs/{other}/start', 'both') == 200
    waitUntil(lambda: server.getStatus(other) == 'completed', PATIENCE)
