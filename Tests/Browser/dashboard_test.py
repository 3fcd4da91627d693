"""Drives serving's dashboard in a real headless Chromium (Debian's chromium
and chromium-driver, Selenium from PyPI) against running services.

    python dashboard_test.py MODE BASE_URL EXPECTATIONS.json SCREENSHOT_DIR

MODE is `trio` (timeline, charts, compare, predict form, XSS, docs),
`classifier` (probability bars) or `forecast` (history then horizon points).
The expectations come from the Swift test, which read them from Postgres and
the JSON API. Exits non-zero with the failed checks listed.
"""
import json
import os
import sys
import urllib.request

from selenium import webdriver
from selenium.common.exceptions import NoAlertPresentException
from selenium.webdriver.chrome.service import Service
from selenium.webdriver.common.by import By
from selenium.webdriver.support.ui import WebDriverWait

failures = []

# Which way is better, from the metrics' definitions (not from Conveyor's code).
HIGHER_IS_BETTER = {"r2", "accuracy", "balanced_accuracy", "f1", "macro_f1", "precision", "recall", "roc_auc"}


def number(value):
    """How the pages print a number: whole numbers plainly, others to 4 significant digits (C's %.4g)."""
    return str(int(value)) if value == int(value) and abs(value) < 1e9 else "%.4g" % value


def check(condition, message):
    if not condition:
        failures.append(message)
    return condition


def browser():
    options = webdriver.ChromeOptions()
    options.binary_location = os.environ.get("CHROMIUM", "/usr/bin/chromium")
    for flag in ("--headless=new", "--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage",
                 "--window-size=1280,1600", "--disable-extensions", "--no-first-run"):
        options.add_argument(flag)
    options.set_capability("goog:loggingPrefs", {"browser": "ALL"})
    service = Service(os.environ.get("CHROMEDRIVER", "/usr/bin/chromedriver"))
    return webdriver.Chrome(service=service, options=options)


def api(base, method, path, body=None):
    request = urllib.request.Request(base + path, method=method, data=None if body is None else json.dumps(body).encode(),
                                     headers={"Content-Type": "application/json", "Accept": "application/json"})
    try:
        with urllib.request.urlopen(request, timeout=10) as response:
            return response.status, json.loads(response.read())
    except urllib.error.HTTPError as error:
        return error.code, json.loads(error.read())


class Pages:
    def __init__(self, driver, base, shots):
        self.driver, self.base, self.shots = driver, base, shots

    def open(self, path, name):
        self.driver.get(self.base + path)
        WebDriverWait(self.driver, 10).until(lambda d: d.execute_script("return document.readyState") == "complete")
        self.no_console_errors(name)
        return self.driver

    def no_console_errors(self, name, expected_status=None):
        """No SEVERE console entries; `expected_status`: Chrome logs the API's deliberate answer
        to a bad request (e.g. 422) as a failed resource load, which is the point of that check."""
        errors = [entry for entry in self.driver.get_log("browser") if entry["level"] == "SEVERE"
                  and not (expected_status and entry.get("source") == "network"
                           and f"status of {expected_status}" in entry["message"])]
        check(not errors, f"{name}: console errors {errors}")

    def shot(self, name):
        path = os.path.join(self.shots, name + ".png")
        self.driver.set_window_size(1280, max(900, min(4000, self.driver.execute_script(
            "return document.body.scrollHeight"))))
        self.driver.save_screenshot(path)

    def css(self, selector):
        return self.driver.find_elements(By.CSS_SELECTOR, selector)

    def text(self, selector):
        found = self.css(selector)
        return found[0].text if found else None


def trio(pages, expect):
    driver, base = pages.driver, pages.base
    # Home: the live version, the timeline's states, one chart point per deployed version.
    pages.open("/", "home")
    check(pages.text("#live-version") == expect["live"], f"live version {pages.text('#live-version')} != {expect['live']}")
    states = {row.get_attribute("data-run"): row.get_attribute("data-state") for row in pages.css("tr.timeline-entry")}
    check(states == expect["states"], f"timeline states {states} != {expect['states']}")
    for metric in expect["chart_metrics"]:
        points = pages.css(f'.metric-chart[data-metric="{metric}"] circle.metric-point')
        check(len(points) == expect["deployed_versions"],
              f"{metric} chart has {len(points)} points, {expect['deployed_versions']} versions were deployed")
    bounds = pages.css('.metric-chart[data-metric="rmse"] line.bound')
    check(len(bounds) >= 1, "the rmse chart draws its gate bound")
    chart_labels(pages, expect)
    content_security_policy(pages)
    # The XSS title is text, and no script ran (an alert would be open).
    titles = [span.text for span in pages.css(".pr-title")]
    check(expect["xss_title"] in titles, f"the PR title {expect['xss_title']!r} is shown as text: {titles}")
    check("<script>alert(1)</script>" not in driver.page_source, "the title is not markup in the page")
    check(driver.execute_script("return document.querySelectorAll('script:not([src])').length") == 0,
          "no inline script element anywhere (the pages have none of their own)")
    try:
        driver.switch_to.alert
        failures.append("an alert opened: the XSS title ran")
    except NoAlertPresentException:
        pass
    pages.shot("home")

    # Compare, reached by picking two versions on the timeline.
    for version in (expect["compare"]["a"], expect["compare"]["b"]):
        box = pages.css(f'input.pick[value="{version}"]')
        check(len(box) == 1, f"a pick box for {version}") and box[0].click()
    check(pages.css("#compare-picked")[0].is_enabled(), "two picks enable the compare button")
    pages.css("#compare-picked")[0].click()
    WebDriverWait(driver, 10).until(lambda d: "/compare" in d.current_url)
    pages.no_console_errors("compare")
    check(pages.text("#version-a") == expect["compare"]["a"] and pages.text("#version-b") == expect["compare"]["b"],
          f"compare shows {pages.text('#version-a')} and {pages.text('#version-b')}")
    for metric, (a, b) in expect["compare"]["metrics"].items():
        verdict = "same" if a == b else "better" if (b > a) == (metric in HIGHER_IS_BETTER) else "worse"
        a, b = number(a), number(b)
        rows = pages.css(f'#metric-diff tr[data-metric="{metric}"]')
        if not check(len(rows) == 1, f"compare has a row for {metric}"):
            continue
        cells = [cell.text for cell in rows[0].find_elements(By.TAG_NAME, "td")]
        check(cells[1] == a and cells[2] == b, f"{metric}: {cells[1:3]} != {[a, b]}")
        check(rows[0].get_attribute("data-verdict") == verdict, f"{metric} is {rows[0].get_attribute('data-verdict')}, expected {verdict}")
        colour = rows[0].find_elements(By.TAG_NAME, "td")[3].value_of_css_property("color")
        if verdict in ("better", "worse"):
            check(colour == {"better": "rgba(23, 128, 61, 1)", "worse": "rgba(192, 57, 43, 1)"}[verdict],
                  f"{metric}'s difference is coloured {colour} for {verdict}")
    changes = {row.get_attribute("data-feature"): row.get_attribute("data-change") for row in pages.css("#feature-diff tr[data-feature]")}
    check(changes == expect["compare"]["features"], f"feature changes {changes} != {expect['compare']['features']}")
    pages.shot("compare")

    # Version and run pages.
    pages.open(f"/versions/{expect['live']}", "version")
    check(pages.text("#version") == expect["live"], "the version page names its version")
    check(len(pages.css("table.features svg.chart rect.bar")) > 0, "reference histograms are drawn")
    importance = [(row.get_attribute("data-feature"), float(row.get_attribute("data-value")))
                  for row in pages.css("#importance .importance")]
    check(len(importance) >= 1 and [v for _, v in importance] == sorted((v for _, v in importance), reverse=True),
          f"global importance, largest first: {importance}")
    pages.shot("version")
    pages.open("/runs", "runs")
    check(len(pages.css("tr.run")) == len(expect["states"]), "the runs page lists every run")
    pages.open("/runs?status=failed", "runs?status=failed")
    check([row.get_attribute("data-state") for row in pages.css("tr.run")] == ["failed"], "the failed filter")
    pages.shot("runs")
    pages.open(f"/runs/{expect['failed_run']}", "run")
    check(pages.text("#run-state") == "failed" and expect["failed_reason"] in (pages.text("#reason") or ""),
          f"the failed run shows its reason: {pages.text('#reason')!r}")

    # The predict form gives what the JSON API gives; an out-of-range value shows the API's message beside its field.
    pages.open("/predict", "predict")
    inputs = {element.get_attribute("name"): element for element in pages.css("#predict-form [data-kind]")}
    body = {}
    for name, element in inputs.items():
        kind = element.get_attribute("data-kind")
        value = element.get_attribute("value")
        body[name] = float(value) if kind == "number" else value
    pages.css("#predict-submit")[0].click()
    WebDriverWait(driver, 10).until(lambda d: d.find_element(By.ID, "result").is_displayed())
    status, answer = api(base, "POST", "/predict", body)
    check(status == 200, f"the API answers the form's values: {answer}")
    shown = pages.text("#result-value")
    check(shown is not None and abs(float(shown) - answer["prediction"]) < 1e-9,
          f"the form shows {shown}, the API {answer.get('prediction')}")
    check(pages.text("#result-version") == answer["model_version"], "the answer names the version")
    explanation(pages, base, body)
    pages.shot("predict")
    field = expect["out_of_range"]["field"]
    inputs[field].clear()
    inputs[field].send_keys(str(expect["out_of_range"]["value"]))
    pages.css("#predict-submit")[0].click()
    selector = f'.field-error[data-field="{field}"]'
    WebDriverWait(driver, 10).until(lambda d: d.find_element(By.CSS_SELECTOR, selector).text != "")
    status, answer = api(base, "POST", "/predict", dict(body, **{field: expect["out_of_range"]["value"]}))
    problem = next(p["problem"] for p in answer["error"]["problems"] if p["field"] == field)
    check(status == 422 and pages.text(selector) == problem, f"beside {field}: {pages.text(selector)!r}, API: {problem!r}")
    pages.no_console_errors("predict after a 422", expected_status=422)

    # Interactive API docs: try GET /health/live from the page.
    pages.open("/docs", "docs")
    route = pages.css("details#get--health-live")
    if check(len(route) == 1, "the docs list GET /health/live"):
        route[0].find_element(By.TAG_NAME, "summary").click()
        route[0].find_element(By.CSS_SELECTOR, "button[type=submit]").click()
        WebDriverWait(driver, 10).until(lambda d: route[0].find_element(By.CSS_SELECTOR, ".response").text != "")
        check(route[0].find_element(By.CSS_SELECTOR, ".response").text.startswith("200"), "try it answers 200")
    pages.shot("docs")
    for url in expect.get("other_docs", []):
        driver.get(url + "/docs")
        pages.no_console_errors(url + "/docs")
        check(len(pages.css("details.route")) > 3, f"{url}/docs lists its routes")


def explanation(pages, base, body):
    """The form's contribution chart is the API's explanation: a bar per feature with its exact value,
    sorted by size, red to the right for positive and blue to the left for negative, and the parts add up."""
    status, explained = api(base, "POST", "/predict?explain=true", body)
    check(status == 200, f"the API explains the form's values: {explained}")
    parts = explained["contributions"]
    if isinstance(explained["prediction"], dict):
        label = explained["prediction"]["label"]
        parts, base_value = parts[label], explained["base_value"][label]
        check(pages.text("#result-value") == label, "the chart explains the predicted class")
    else:
        base_value = explained["base_value"]
        check(abs(base_value + sum(parts.values()) - explained["prediction"]) < 1e-9, "the contributions add up")
    bars = pages.css("#result-contributions svg.contribution-chart rect.contribution")
    shown = [(bar.get_attribute("data-feature"), float(bar.get_attribute("data-value")), bar.get_attribute("class"))
             for bar in bars]
    check(sorted(name for name, _, _ in shown) == sorted(parts), f"a bar per feature: {shown} vs {parts}")
    check(all(abs(value - parts[name]) < 1e-9 for name, value, _ in shown), "each bar is the API's contribution")
    check([abs(v) for _, v, _ in shown] == sorted((abs(v) for _, v, _ in shown), reverse=True), "sorted by size")
    check(all(("positive" in cls) == (value >= 0) for _, value, cls in shown), "positive and negative bars")
    axis = float(pages.css("#result-contributions svg.contribution-chart line.axis")[0].get_attribute("x1"))
    for bar, (_, value, _) in zip(bars, shown):
        left = float(bar.get_attribute("x"))
        check(left >= axis if value >= 0 else left < axis, f"a bar on the wrong side of the axis: {value}")


def chart_labels(pages, expect):
    """Every label of the metric charts is drawn whole inside its chart, the x axis's
    without overlapping, and the live version's label is there in full."""
    x_labels = set()
    for chart in pages.css(".metric-chart svg.chart"):
        boxes = pages.driver.execute_script("""
            const svg = arguments[0], width = svg.viewBox.baseVal.width;
            return Array.from(svg.querySelectorAll('text')).map(text => {
                const box = text.getBBox();
                return [text.textContent, box.x, box.x + box.width, text.getAttribute('y'), width];
            });""", chart)
        for text, left, right, _, width in boxes:
            check(left >= 0 and right <= width, f"chart label {text!r} is cut: it spans {left:.0f} to {right:.0f} of {width:.0f}")
        axis = sorted((left, right, text) for text, left, right, y, _ in boxes if y == "202.0")
        for (_, right, text), (left, _, following) in zip(axis, axis[1:]):
            check(right <= left, f"x labels {text!r} and {following!r} overlap")
        x_labels.update(text for _, _, text in axis)
    check(expect["live"] in x_labels, f"the live version {expect['live']} is a whole x label: {sorted(x_labels)}")


def content_security_policy(pages):
    """The page's Content-Security-Policy holds in the browser: a script injected inline does not run
    (the browser's refusal is the one console error expected here, and is dropped)."""
    ran = pages.driver.execute_script("""
        window.injectedRan = false;
        const script = document.createElement('script');
        script.textContent = 'window.injectedRan = true';
        document.body.appendChild(script);
        script.remove();
        return window.injectedRan;""")
    check(ran is False, "an inline script injected into the page ran: no Content-Security-Policy stops it")
    refusals = [entry for entry in pages.driver.get_log("browser") if entry["level"] == "SEVERE"]
    check(all("Content Security Policy" in entry["message"] for entry in refusals), f"unexpected errors {refusals}")


def classifier(pages, expect):
    pages.open("/predict", "predict (classifier)")
    pages.css("#predict-submit")[0].click()
    WebDriverWait(pages.driver, 10).until(lambda d: d.find_element(By.ID, "result").is_displayed())
    bars = {row.get_attribute("data-class") for row in pages.css("#result-probabilities .probability")}
    check(bars == set(expect["classes"]), f"a probability bar per class: {bars}")
    check(pages.text("#result-value") in expect["classes"], "the label is one of the classes")
    body = {element.get_attribute("name"): float(element.get_attribute("value"))
            for element in pages.css("#predict-form [data-kind]")}
    explanation(pages, pages.base, body)
    pages.shot("predict-classifier")


def forecast(pages, expect):
    pages.open("/predict", "predict (forecast)")
    horizon = pages.css("#horizon")[0]
    horizon.clear()
    horizon.send_keys(str(expect["horizon"]))
    pages.css("#predict-submit")[0].click()
    WebDriverWait(pages.driver, 10).until(lambda d: len(d.find_elements(By.CSS_SELECTOR, "circle.forecast-point")) > 0)
    history = pages.css("svg.forecast-chart circle.history-point")
    future = pages.css("svg.forecast-chart circle.forecast-point")
    check(len(history) == expect["history_points"], f"{len(history)} history points, expected {expect['history_points']}")
    check(len(future) == expect["horizon"], f"{len(future)} forecast points, expected {expect['horizon']}")
    last_history = max(float(point.get_attribute("cx")) for point in history)
    check(all(float(point.get_attribute("cx")) > last_history for point in future), "the forecast follows the history")
    pages.shot("predict-forecast")


def models(pages, expect):
    """Several models: the models page lists each with its version; each one's predict form
    posts to its own route and is answered by that model."""
    pages.open("/models", "models")
    rows = {row.get_attribute("data-model"): row for row in pages.css("#models tr.model")}
    check(set(rows) == set(expect["versions"]), f"a row per live model: {sorted(rows)}")
    for name, version in expect["versions"].items():
        check(version in rows[name].text, f"{name}'s row shows {version}: {rows[name].text}")
        check("serving" in rows[name].text, f"{name} is served by this replica: {rows[name].text}")
    for name, expected in expect["answers"].items():
        pages.open(f"/predict?model={name}", f"predict ({name})")
        check(pages.css("#predict-form")[0].get_attribute("data-endpoint") == f"/models/{name}/predict",
              f"{name}'s form posts to its own route")
        pages.css("#predict-submit")[0].click()
        WebDriverWait(pages.driver, 10).until(lambda d: d.find_element(By.ID, "result").is_displayed())
        check(pages.text("#version") == expect["versions"][name], f"{name}'s form names its version")
        if expected == "number":
            answer = pages.text("#result-value")
            check(answer.replace(".", "", 1).lstrip("-").isdigit() or "e" in answer, f"{name} answers a number: {answer}")
        else:
            check(pages.text("#result-value") in expected, f"{name} answers one of {expected}")
        pages.shot(f"predict-{name}")


def main():
    mode, base, expectations, shots = sys.argv[1:5]
    os.makedirs(shots, exist_ok=True)
    with open(expectations) as file:
        expect = json.load(file)
    driver = browser()
    try:
        {"trio": trio, "classifier": classifier, "forecast": forecast, "models": models}[mode](Pages(driver, base, shots), expect)
    except Exception as error:  # a timeout or a missing element is a failure too
        failures.append(f"{type(error).__name__}: {error}")
        driver.save_screenshot(os.path.join(shots, f"failure-{mode}.png"))
    finally:
        driver.quit()
    if failures:
        print("\n".join("FAIL " + failure for failure in failures))
        sys.exit(1)
    print(f"ok {mode}")


if __name__ == "__main__":
    main()
