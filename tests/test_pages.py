"""The result pages as a reader opens them: the front page and every study page of the tiny
run, in headless Chromium (Debian's chromium and chromium-driver; .ci/run installs them)."""

import os
import shutil
import time

import pandas as pd
import pytest

pytestmark = pytest.mark.workflow

CHROMIUM, DRIVER = shutil.which("chromium"), shutil.which("chromedriver")


@pytest.fixture(scope="module")
def browser():
    if not (CHROMIUM and DRIVER):
        if os.environ.get("CI"):
            pytest.fail("chromium and chromium-driver are missing: .ci/run installs them")
        pytest.skip("no chromium and chromium-driver here (apt install chromium chromium-driver)")
    from selenium import webdriver
    from selenium.webdriver.chrome.service import Service

    options = webdriver.ChromeOptions()
    for argument in ("--headless=new", "--no-sandbox", "--disable-gpu",
                     "--window-size=1400,1000"):
        options.add_argument(argument)
    options.binary_location = CHROMIUM
    options.set_capability("goog:loggingPrefs", {"browser": "ALL"})
    driver = webdriver.Chrome(service=Service(DRIVER), options=options)
    yield driver
    driver.quit()


def opened(browser, path):
    """The page loaded, its tables drawn; the console's messages since."""
    browser.get(path.as_uri())
    deadline = time.monotonic() + 20
    while browser.execute_script(
            "return document.querySelectorAll('table.dataTable').length") < browser.execute_script(
            "return document.querySelectorAll('table[id^=itables]').length"):
        assert time.monotonic() < deadline, f"{path.name}: the tables were never drawn"
        time.sleep(0.1)
    return browser.get_log("browser")


def pages(workdir):
    results = workdir / "results"
    return [results / "index.html", results / "claims/claims.html",
            *sorted(results.glob("*/tables/*.html"))]


def test_every_page_opens_cleanly_offline(finished, browser):
    workdir, _ = finished
    for page in pages(workdir):
        log = opened(browser, page)
        assert not [m for m in log if m["level"] == "SEVERE"], (page.name, log)
        images = browser.execute_script(
            "return [...document.images].map(i => [i.alt || i.src.slice(0, 40), i.complete, "
            "i.naturalWidth])")
        assert all(done and width > 0 for _, done, width in images), (page.name, images)
        # nothing fetched from the network: the table library is inlined
        fetched = browser.execute_script(
            "return performance.getEntriesByType('resource').map(r => r.name)")
        assert all(u.split(":")[0] in ("file", "data", "blob") for u in fetched), fetched
    assert len(pages(workdir)) == 5  # front, claims, 2 statistics, 1 latent (tiny)


def test_the_front_page_answers_and_its_tables_sort(finished, browser):
    workdir, _ = finished
    opened(browser, workdir / "results/index.html")
    claims = pd.read_csv(workdir / "results/claims/claims.csv", keep_default_na=False)
    tables = browser.find_elements("css selector", "table.dataTable")
    verdicts, studies = tables[0], tables[1]
    rows = verdicts.find_elements("css selector", "tbody tr")
    assert len(rows) == len(claims)
    shown = [r.find_element("css selector", "td b").text for r in rows]
    assert sorted(shown) == sorted(claims["claim_id"])
    badges = [b.text for b in verdicts.find_elements("css selector", "span.badge")]
    assert sorted(badges) == sorted(claims["verdict"])
    # the studies table: a row per study, its counts as runs.csv has them
    study_rows = {r.find_element("css selector", "td").text: r.text
                  for r in studies.find_elements("css selector", "tbody tr")}
    runs = pd.read_csv(workdir / "results/init/tables/runs.csv")
    assert set(study_rows) == {"init", "hparam"}
    assert study_rows["init"].startswith(f"init {len(runs)} {(runs['status'] == 'ok').sum()}")
    # sorting: a click on the runs header orders the studies by their number of runs
    header = next(h for h in studies.find_elements("css selector", "thead th")
                  if h.text.strip().startswith("runs"))
    for direction in ("ascending", "descending"):
        header.click()
        time.sleep(0.3)
        counts = [int(r.find_elements("css selector", "td")[1].text)
                  for r in studies.find_elements("css selector", "tbody tr")]
        assert counts == sorted(counts, reverse=direction == "descending"), counts
        assert header.get_attribute("aria-sort") == direction
