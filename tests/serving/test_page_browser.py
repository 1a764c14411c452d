"""The web page at ``/`` in a real headless browser: Debian's ``chromium`` and ``chromium-driver``
driven by selenium, against a server this test starts on a free loopback port and stops.

Where the browser is not installed the test is skipped, except in CI (``CI=true``), where
``.ci/run`` installs it and a missing browser is a failure.
"""

from __future__ import annotations

import os
import shutil
import socket
import threading
import time

import pytest

from recsys.serving.app import create_app

BROWSER = ("chromium", "chromium-browser", "google-chrome")
DRIVER = "chromedriver"
WAIT = 30  # seconds for the page to answer a click


def _installed() -> tuple[str, str]:
    browser = next((shutil.which(b) for b in BROWSER if shutil.which(b)), None)
    driver = shutil.which(DRIVER)
    if browser and driver:
        return browser, driver
    message = ("no headless browser: install Debian's chromium and chromium-driver "
               "(apt-get install chromium chromium-driver; .ci/run does)")
    if os.environ.get("CI") == "true":
        pytest.fail(message)
    pytest.skip(message)


@pytest.fixture(scope="module")
def server(service):
    """The app on a free loopback port in a thread; stopped (and joined) after the tests."""
    import uvicorn

    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    server = uvicorn.Server(uvicorn.Config(create_app(service, default_model="history"),
                                           host="127.0.0.1", port=port, log_level="warning"))
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    deadline = time.monotonic() + WAIT
    while not server.started:
        assert thread.is_alive() and time.monotonic() < deadline, "the server did not start"
        time.sleep(0.05)
    yield f"http://127.0.0.1:{port}"
    server.should_exit = True
    thread.join(timeout=WAIT)
    assert not thread.is_alive(), "the server did not stop"


@pytest.fixture(scope="module")
def browser():
    path, driver_path = _installed()
    from selenium import webdriver
    from selenium.webdriver.chrome.service import Service as DriverService

    options = webdriver.ChromeOptions()
    options.binary_location = path
    for flag in ("--headless=new", "--no-sandbox", "--disable-dev-shm-usage", "--disable-gpu",
                 "--window-size=1400,900"):
        options.add_argument(flag)
    driver = webdriver.Chrome(options=options, service=DriverService(executable_path=driver_path))
    yield driver
    driver.quit()


def _items(browser, selector: str) -> list[int]:
    from selenium.webdriver.common.by import By

    return [int(li.get_attribute("data-item"))
            for li in browser.find_elements(By.CSS_SELECTOR, f"{selector} li")]


def _wait(browser, condition) -> None:
    from selenium.webdriver.support.ui import WebDriverWait

    WebDriverWait(browser, WAIT).until(lambda _: condition())


def test_a_click_on_a_track_updates_the_next_songs(server, browser, service):
    from selenium.webdriver.common.by import By

    browser.get(server)
    _wait(browser, lambda: browser.find_element(By.TAG_NAME, "body").get_attribute("data-ready"))
    popular = [t["item_id"] for t in service.search(None, n=20)]
    assert _items(browser, "#search-results") == popular  # the most listened tracks
    assert _items(browser, "#next-list") == []
    browser.find_element(By.CSS_SELECTOR, f"#search-results li[data-item='{popular[0]}']").click()
    _wait(browser, lambda: _items(browser, "#next-list"))
    assert _items(browser, "#session") == [popular[0]]
    assert _items(browser, "#next-list") == [i for i, _ in service.next([popular[0]], 10).items]
    # a click on a next song plays it: the session grows and the list follows it
    second = _items(browser, "#next-list")[0]
    browser.find_element(By.CSS_SELECTOR, f"#next-list li[data-item='{second}']").click()
    want = [i for i, _ in service.next([popular[0], second], 10).items]
    _wait(browser, lambda: browser.find_element(By.ID, "next-list").get_attribute("data-session")
          == f"{popular[0]},{second}")
    assert _items(browser, "#next-list") == want


def test_two_models_side_by_side_with_repeats_marked(server, browser, service):
    from selenium.webdriver.common.by import By
    from selenium.webdriver.support.ui import Select

    browser.get(server)
    _wait(browser, lambda: browser.find_element(By.TAG_NAME, "body").get_attribute("data-ready"))
    assert browser.find_element(By.ID, "uid").get_attribute("value") == "11"  # the example user
    Select(browser.find_element(By.ID, "model-b")).select_by_value("mostpop")
    browser.find_element(By.ID, "user-go").click()
    _wait(browser, lambda: _items(browser, "#list-a") and _items(browser, "#list-b"))
    assert _items(browser, "#list-a") == [i for i, _ in service.recommend(11, model="history").items]
    assert _items(browser, "#list-b") == [i for i, _ in service.recommend(11, model="mostpop").items]
    seen = {i for i, _ in service.history(11, n=1000).items}
    for li in browser.find_elements(By.CSS_SELECTOR, "#list-b li"):
        badge = li.find_element(By.CSS_SELECTOR, ".badge").text
        assert badge == ("repeat" if int(li.get_attribute("data-item")) in seen else "discovery")
