"""Headless Chromium for page tests, driven like a person uses it: it opens a page, follows the
redirects to the identity provider's login form, types into it and submits, then the test reads
the rendered DOM (after the page's scripts ran) and takes a screenshot, kept in the test's
artifacts directory.

The driver is Debian's chromedriver (installed with the browser by deploy/ops/chromium.sh),
spoken to over its W3C WebDriver HTTP API with httpx: a handful of commands, so no client
library."""

import base64
import shutil
import subprocess
import tempfile
import time
from collections.abc import Callable
from html.parser import HTMLParser
from pathlib import Path

import httpx

from tests.support.infrastructure import REPO
from tests.support.processes import free_port

CHROMIUM_SCRIPT = REPO / "deploy" / "ops" / "chromium.sh"
# Quiet and self-contained: no sandbox (tests may run as root), no GPU, no calls home.
FLAGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
         "--disable-background-networking", "--disable-component-update", "--disable-sync",
         "--disable-dev-shm-usage", "--window-size=1280,900"]
# The W3C WebDriver key of an element in a command's answer.
ELEMENT = "element-6066-11e4-a52e-4f735466cecf"


def chromium() -> str:
    found = subprocess.run(["bash", str(CHROMIUM_SCRIPT), "path"], capture_output=True, text=True, check=False)
    assert found.returncode == 0, f"headless Chromium missing; run deploy/ops/chromium.sh ensure ({found.stderr})"
    return found.stdout.strip()


def chromedriver() -> str:
    found = shutil.which("chromedriver")
    assert found, "chromedriver missing; run deploy/ops/chromium.sh ensure (Debian's chromium-driver)"
    return found


class WebDriverError(AssertionError):
    pass


class Browser:
    """One headless Chromium session with a fresh profile (no cookies from another test)."""

    def __init__(self, *, artifacts: Path, timeout: float = 30.0) -> None:
        self.artifacts, self.timeout = artifacts, timeout
        self._profile = tempfile.TemporaryDirectory(prefix="songtor-chromium-")
        port = free_port()
        self._log = (artifacts / "chromedriver.log").open("ab")
        self._driver = subprocess.Popen([chromedriver(), f"--port={port}"], stdout=self._log, stderr=self._log)
        self._http = httpx.Client(base_url=f"http://127.0.0.1:{port}", timeout=90)
        self._session = ""
        try:
            self._wait_until_ready()
            options = {"binary": chromium(), "args": [*FLAGS, f"--user-data-dir={self._profile.name}"]}
            answer = self._command("POST", "/session", {"capabilities": {"alwaysMatch": {
                "browserName": "chrome", "goog:chromeOptions": options, "pageLoadStrategy": "normal"}}})
            self._session = answer["sessionId"]
        except BaseException:
            self.close()
            raise

    def _wait_until_ready(self) -> None:
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline:
            try:
                if self._http.get("/status").json()["value"].get("ready"):
                    return
            except (httpx.HTTPError, ValueError, KeyError):
                pass
            time.sleep(0.2)
        raise WebDriverError("chromedriver did not answer within 30 s")

    def _command(self, method: str, path: str, body: dict | None = None):  # noqa: ANN202 - WebDriver's JSON
        answer = self._http.request(method, path, json=body if body is not None else ({} if method == "POST" else None))
        value = answer.json().get("value")
        if answer.status_code != 200:
            raise WebDriverError(f"{method} {path}: {answer.status_code} {value}")
        return value

    def _in_session(self, method: str, path: str, body: dict | None = None):  # noqa: ANN202
        return self._command(method, f"/session/{self._session}{path}", body)

    # -- what a person does

    def open(self, url: str) -> None:
        self._in_session("POST", "/url", {"url": url})

    @property
    def url(self) -> str:
        return self._in_session("GET", "/url")

    def dom(self) -> str:
        return self._in_session("GET", "/source")

    def _element(self, css: str) -> str:
        return self._in_session("POST", "/element", {"using": "css selector", "value": css})[ELEMENT]

    def type(self, css: str, text: str) -> None:
        element = self._element(css)
        self._in_session("POST", f"/element/{element}/clear")
        self._in_session("POST", f"/element/{element}/value", {"text": text})

    def click(self, css: str) -> None:
        self._in_session("POST", f"/element/{self._element(css)}/click")

    def wait_for(self, what: str, until: Callable[["Browser"], bool], *, timeout: float | None = None) -> None:
        """Polls until `until(browser)` holds; fails with the page's address and a screenshot."""
        deadline = time.monotonic() + (timeout or self.timeout)
        while time.monotonic() < deadline:
            try:
                if until(self):
                    return
            except WebDriverError:
                pass  # mid-navigation: the document is being replaced
            time.sleep(0.3)
        self.keep("timed-out")
        raise WebDriverError(f"waited {timeout or self.timeout:.0f} s for {what}; at {self.url}")

    def keep(self, name: str) -> str:
        """Saves <name>.html and <name>.png in the artifacts directory; returns the DOM."""
        dom = self.dom()
        (self.artifacts / f"{name}.html").write_text(dom, encoding="utf-8")
        shot = self.artifacts / f"{name}.png"
        shot.write_bytes(base64.b64decode(self._in_session("GET", "/screenshot")))
        assert shot.stat().st_size > 0, "no screenshot written"
        return dom

    def close(self) -> None:
        if self._session:
            try:
                self._in_session("DELETE", "")
            except (httpx.HTTPError, WebDriverError):
                pass
        self._http.close()
        self._driver.terminate()
        try:
            self._driver.wait(timeout=10)
        except subprocess.TimeoutExpired:
            self._driver.kill()
            self._driver.wait()
        self._log.close()
        self._profile.cleanup()

    def __enter__(self) -> "Browser":
        return self

    def __exit__(self, *_exc: object) -> None:
        self.close()


def sign_in_with_keycloak(browser: Browser, *, username: str, password: str) -> None:
    """On the issuer's login page (Keycloak's login theme): fill the form and submit it."""
    browser.wait_for("the identity provider's login form", lambda b: 'id="kc-form-login"' in b.dom())
    browser.type("#username", username)
    browser.type("#password", password)
    browser.click("#kc-login")


class _Rows(HTMLParser):
    def __init__(self, attribute: str) -> None:
        super().__init__()
        self.attribute, self.rows, self._row, self._cell = attribute, {}, None, None

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        values = dict(attrs)
        if tag == "tr" and self.attribute in values:
            self._row = values[self.attribute]
            self.rows[self._row] = []
        elif tag == "td" and self._row is not None:
            self._cell = ""

    def handle_data(self, data: str) -> None:
        if self._cell is not None:
            self._cell += data

    def handle_endtag(self, tag: str) -> None:
        if tag == "td" and self._row is not None and self._cell is not None:
            self.rows[self._row].append(self._cell.strip())
            self._cell = None
        elif tag == "tr":
            self._row = None


def table_rows(dom: str, *, attribute: str) -> dict[str, list[str]]:
    """Cells of each <tr> carrying `attribute`, keyed by its value."""
    parser = _Rows(attribute)
    parser.feed(dom)
    return parser.rows
