"""Headless Chromium for page tests: the rendered DOM (after the page's scripts ran) and a
screenshot, both kept in the test's artifacts directory."""

import subprocess
import tempfile
from html.parser import HTMLParser
from pathlib import Path

from tests.support.infrastructure import REPO

CHROMIUM_SCRIPT = REPO / "deploy" / "ops" / "chromium.sh"
# Quiet and self-contained: no sandbox (tests may run as root), no GPU, no calls home.
FLAGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
         "--disable-background-networking", "--disable-component-update", "--disable-sync",
         "--window-size=1280,900", "--virtual-time-budget=5000"]


def chromium() -> str:
    found = subprocess.run(["bash", str(CHROMIUM_SCRIPT), "path"], capture_output=True, text=True, check=False)
    assert found.returncode == 0, f"headless Chromium missing; run deploy/ops/chromium.sh ensure ({found.stderr})"
    return found.stdout.strip()


def render(url: str, *, artifacts: Path, name: str) -> str:
    """The DOM of `url` once its scripts ran; saves <name>.html and <name>.png in `artifacts`."""
    browser = chromium()
    with tempfile.TemporaryDirectory(prefix="songtor-chromium-") as profile:
        flags = [*FLAGS, f"--user-data-dir={profile}"]
        dom = subprocess.run([browser, *flags, "--dump-dom", url], capture_output=True, text=True, timeout=90,
                             check=True).stdout
        shot = artifacts / f"{name}.png"
        subprocess.run([browser, *flags, f"--screenshot={shot}", url], capture_output=True, timeout=90, check=True)
    assert shot.exists() and shot.stat().st_size > 0, "no screenshot written"
    (artifacts / f"{name}.html").write_text(dom, encoding="utf-8")
    return dom


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
