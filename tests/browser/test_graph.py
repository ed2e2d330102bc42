"""The job page's graph of the jobs it waits for and that wait for it, in
real headless Chromium against the real daemon (issue 21)."""

import os
import shutil

from tests.acceptance.daemon import ROOT, isRunning, waitUntil
from tests.browser.conftest import PATIENCE, needBrowser

needBrowser()

from selenium.webdriver.common.by import By  # noqa: E402
from selenium.webdriver.support.ui import WebDriverWait  # noqa: E402


def nodes(driver):
    """``{id: status}`` of the graph's nodes as drawn (the class s-...)."""
    return driver.execute_script(
        'return Object.fromEntries([...document.querySelectorAll('
        '"#job-graph .node[data-id]")].map((node) => [node.dataset.id, '
        '[...node.classList].find((c) => c.startsWith("s-")).slice(2)]));')


def test_the_graph_shows_each_side_with_statuses_and_links(
        page, startDashboard, artefacts, tmp_path):
    """A fan-in's page draws its three dependencies on the left and its
    two dependents on the right, each in its status (one still
    waiting); a click on a node opens that job, whose graph is drawn
    around it in turn."""
    daemon = startDashboard('--workers=2')
    server = daemon.proxy()
    gate = server.add('gate', {'path': str(tmp_path / 'open')})
    waitUntil(lambda: isRunning(server, gate), PATIENCE)
    *group, fanIn = server.addGroup(
        [['echo', {'image': f'{n}.png'}] for n in range(3)],
        ['echo', {'zip': 'all.zip'}])
    waiting = server.add('echo', 'publish', {'after': [fanIn, gate]})
    done = server.add('echo', 'tell', {'after': [fanIn]})
    waitUntil(lambda: server.getStatus(done) == 'completed', PATIENCE)
    page.get(f'{daemon.url}#/jobs/{fanIn}')
    expected = {str(jobid): 'completed' for jobid in group + [fanIn, done]}
    expected[str(waiting)] = 'waiting'
    WebDriverWait(page, PATIENCE).until(
        lambda d: nodes(d) == expected, 'the graph around the fan-in')
    path = os.path.join(artefacts, 'graph.png')
    page.find_element(By.ID, 'job-graph').screenshot(path)
    if os.environ.get('REMOTETASK_README_SCREENSHOT') == '1':
        shutil.copy(path, os.path.join(ROOT, 'docs', 'workflows-graph.png'))
    page.find_element(
        By.CSS_SELECTOR, f'#job-graph a .node[data-id="{waiting}"] text'
    ).click()
    WebDriverWait(page, PATIENCE).until(
        lambda d: set(nodes(d)) == {str(fanIn), str(gate), str(waiting)},
        "the graph around the fan-in's dependent")
    assert page.current_url.endswith(f'#/jobs/{waiting}')
    (tmp_path / 'open').touch()
    WebDriverWait(page, PATIENCE).until(
        lambda d: nodes(d).get(str(waiting)) == 'completed',
        'the graph to follow the job to its end')


def test_a_job_without_dependencies_has_no_graph(page, startDashboard):
    """A job that waits for none and that none waits for shows no graph,
    and a waiting job can be found by its status in the list."""
    daemon = startDashboard('--workers=1')
    server = daemon.proxy()
    jobid = server.add('echo', 1)
    waitUntil(lambda: server.getStatus(jobid) == 'completed', PATIENCE)
    page.get(f'{daemon.url}#/jobs/{jobid}')
    WebDriverWait(page, PATIENCE).until(
        lambda d: d.find_elements(By.ID, 'job-facts'), 'the job page')
    assert page.find_elements(By.ID, 'job-graph') == []
