"""A headless browser for checking and rendering local HTML files, with the network cut off.

The maps and reports of xclz_geo are single HTML files meant to open anywhere, also on an
intranet laptop with no internet. This module opens such a file in Debian's ``chromium``
driven by ``chromedriver`` through selenium, **with every network request refused**, and
collects what a reviewer would look at: console errors, elements, timings and a screenshot.

Network isolation has three layers, so a page that tries to fetch a CDN script fails loudly
instead of quietly succeeding on a connected machine:

* ``--host-resolver-rules=MAP * ~NOTFOUND``: no host name resolves;
* ``--proxy-server=127.0.0.1:9`` (the discard port, nothing listens) with no bypass, so even
  literal IP addresses go nowhere;
* DevTools network emulation ``offline=True``.

``file://`` pages and the ``data:`` URIs inside them still load. Chromium starts with
``--headless --no-sandbox --disable-gpu --disable-quic --no-first-run
--disable-background-networking --disable-component-update --disable-sync`` and a fresh
``--user-data-dir`` that is deleted on close. Selenium Manager is never used (it would try
to download a driver): the binaries are found on ``PATH`` or named by ``XCLZ_CHROMIUM`` and
``XCLZ_CHROMEDRIVER``.

Without chromium or chromedriver every entry point raises
:class:`~xclz_geo.errors.BrowserUnavailableError` saying what is missing and how to install
it (``apt-get install chromium chromium-driver``).
"""

from __future__ import annotations

import os
import shutil
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

from xclz_geo.errors import BrowserUnavailableError, InputFileError

if TYPE_CHECKING:
    from selenium.webdriver.remote.webdriver import WebDriver

#: command-line flags every headless session starts with
CHROMIUM_FLAGS = (
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--disable-dev-shm-usage",
    "--hide-scrollbars",
    "--force-device-scale-factor=1",
    "--lang=zh-CN",
)
#: extra flags that make every network request fail (see the module docstring)
OFFLINE_FLAGS = (
    "--host-resolver-rules=MAP * ~NOTFOUND",
    "--proxy-server=127.0.0.1:9",
    "--proxy-bypass-list=<-loopback>",
)

_CHROMIUM_NAMES = ("chromium", "chromium-browser", "google-chrome", "google-chrome-stable")
_DRIVER_NAMES = ("chromedriver",)
_INSTALL_HINT = "install them with `apt-get install chromium chromium-driver` (scripts/test.sh does this when run as root)"


@dataclass(frozen=True)
class BrowserPaths:
    """Where the browser and its driver are."""

    chromium: str
    chromedriver: str


def _which(env: str, names: tuple[str, ...], extra: tuple[str, ...] = ()) -> str | None:
    given = os.environ.get(env)
    if given:
        return given if Path(given).is_file() and os.access(given, os.X_OK) else None
    for name in names:
        found = shutil.which(name)
        if found:
            return found
    for path in extra:
        if Path(path).is_file() and os.access(path, os.X_OK):
            return path
    return None


def find_browser() -> BrowserPaths:
    """Locate chromium and chromedriver.

    ``XCLZ_CHROMIUM`` and ``XCLZ_CHROMEDRIVER`` override the search on ``PATH``
    (``/usr/lib/chromium/chromedriver`` is also tried, where Debian keeps it).

    Raises
    ------
    BrowserUnavailableError
        Naming the missing binary (or the bad path in the environment variable) and how to install it.
    """
    chromium = _which("XCLZ_CHROMIUM", _CHROMIUM_NAMES, ("/usr/lib/chromium/chromium",))
    driver = _which("XCLZ_CHROMEDRIVER", _DRIVER_NAMES, ("/usr/lib/chromium/chromedriver",))
    missing = []
    if chromium is None:
        where = f"XCLZ_CHROMIUM={os.environ['XCLZ_CHROMIUM']!r} is not an executable file" if os.environ.get("XCLZ_CHROMIUM") else "no chromium on PATH"
        missing.append(where)
    if driver is None:
        where = (
            f"XCLZ_CHROMEDRIVER={os.environ['XCLZ_CHROMEDRIVER']!r} is not an executable file"
            if os.environ.get("XCLZ_CHROMEDRIVER")
            else "no chromedriver on PATH"
        )
        missing.append(where)
    if chromium is None or driver is None:
        raise BrowserUnavailableError(f"headless browser unavailable: {'; '.join(missing)}; {_INSTALL_HINT}")
    return BrowserPaths(chromium=chromium, chromedriver=driver)


def browser_unavailable_reason() -> str | None:
    """``None`` when chromium, chromedriver and selenium are all present, else why not (for ``pytest.skip``)."""
    try:
        import selenium  # noqa: F401
    except ImportError:
        return "selenium is not installed (it is a dependency of xclz_geo: pip install selenium)"
    try:
        find_browser()
    except BrowserUnavailableError as exc:
        return str(exc)
    return None


@dataclass
class PageReport:
    """What a page did when it was opened.

    Attributes
    ----------
    url
        The ``file://`` URL opened.
    console_errors
        Browser console messages of level SEVERE (JavaScript errors, failed loads).
    console_messages
        Every console message (level, text), errors included.
    load_s
        Wall-clock seconds from the navigation request until the ready condition held.
    ready
        Whether the ready condition held before the timeout.
    """

    url: str
    console_errors: list[str] = field(default_factory=list)
    console_messages: list[tuple[str, str]] = field(default_factory=list)
    load_s: float = float("nan")
    ready: bool = False


class HeadlessBrowser:
    """A headless chromium session (a context manager).

    Parameters
    ----------
    width_px, height_px
        Size of the viewport in CSS pixels.
    offline
        Cut off the network (default). ``False`` lets pages fetch tiles, e.g. to render a
        PNG of a map on a tile basemap.
    page_load_timeout_s
        Time allowed for one navigation.

    Examples
    --------
    >>> with HeadlessBrowser() as b:                       # doctest: +SKIP
    ...     report = b.open("map.html", ready_js="return window.xclzMapReady === true")
    ...     b.screenshot("map.png")
    """

    def __init__(self, *, width_px: int = 1280, height_px: int = 860, offline: bool = True, page_load_timeout_s: float = 60.0) -> None:
        self.width_px = int(width_px)
        self.height_px = int(height_px)
        self.offline = offline
        self.page_load_timeout_s = float(page_load_timeout_s)
        self._driver: WebDriver | None = None
        self._profile: str | None = None

    # -- lifecycle -------------------------------------------------------------------
    def start(self) -> "HeadlessBrowser":
        """Start chromium (called by ``with``)."""
        paths = find_browser()
        try:
            from selenium import webdriver
            from selenium.webdriver.chrome.service import Service
        except ImportError:
            raise BrowserUnavailableError("selenium is not installed; it is a dependency of xclz_geo: pip install selenium") from None
        self._profile = tempfile.mkdtemp(prefix="xclz-chromium-")
        opts = webdriver.ChromeOptions()
        opts.binary_location = paths.chromium
        for flag in CHROMIUM_FLAGS:
            opts.add_argument(flag)
        if self.offline:
            for flag in OFFLINE_FLAGS:
                opts.add_argument(flag)
        opts.add_argument(f"--user-data-dir={self._profile}")
        opts.add_argument(f"--window-size={self.width_px},{self.height_px}")
        opts.set_capability("goog:loggingPrefs", {"browser": "ALL"})
        service = Service(executable_path=paths.chromedriver, log_output=os.devnull)
        try:
            self._driver = webdriver.Chrome(service=service, options=opts)
        except Exception as exc:  # selenium raises SessionNotCreated, WebDriverException …
            self.close()
            first = (str(exc).strip().splitlines() or [type(exc).__name__])[0]
            raise BrowserUnavailableError(
                f"chromium ({paths.chromium}) did not start under chromedriver ({paths.chromedriver}): {first}; "
                "check that both come from the same chromium version"
            ) from None
        self._driver.set_page_load_timeout(self.page_load_timeout_s)
        if self.offline:
            self._driver.execute_cdp_cmd("Network.enable", {})
            self._driver.execute_cdp_cmd(
                "Network.emulateNetworkConditions",
                {"offline": True, "latency": 0, "downloadThroughput": 0, "uploadThroughput": 0},
            )
        # make the viewport (not the window) the requested size
        inner = self._driver.execute_script("return [window.innerWidth, window.innerHeight];")
        dw, dh = self.width_px - int(inner[0]), self.height_px - int(inner[1])
        if dw or dh:
            self._driver.set_window_size(self.width_px + dw, self.height_px + dh)
        return self

    def close(self) -> None:
        """Quit chromium and delete the temporary profile."""
        if self._driver is not None:
            try:
                self._driver.quit()
            except Exception:
                pass
            self._driver = None
        if self._profile:
            shutil.rmtree(self._profile, ignore_errors=True)
            self._profile = None

    def __enter__(self) -> "HeadlessBrowser":
        return self.start()

    def __exit__(self, *exc: Any) -> None:
        self.close()

    @property
    def driver(self) -> "WebDriver":
        """The selenium WebDriver (for ``find_elements``, ``execute_script`` …)."""
        if self._driver is None:
            raise BrowserUnavailableError("the browser is not running; use `with HeadlessBrowser() as b:`")
        return self._driver

    # -- pages -----------------------------------------------------------------------
    def open(self, path: str | Path, *, ready_js: str | None = None, timeout_s: float = 30.0, poll_s: float = 0.02) -> PageReport:
        """Open a local HTML file and wait until it is ready.

        Parameters
        ----------
        path
            The HTML file.
        ready_js
            JavaScript body returning true once the page is ready (e.g.
            ``"return window.xclzMapReady === true"``); default: ``document.readyState == 'complete'``.
        timeout_s
            How long to wait for the ready condition.

        Raises
        ------
        InputFileError
            When the file does not exist.
        """
        p = Path(path).resolve()
        if not p.is_file():
            raise InputFileError(f"{p}: HTML file not found")
        url = p.as_uri()
        driver = self.driver
        driver.get_log("browser")  # drop messages of earlier pages
        t0 = time.perf_counter()
        driver.get(url)
        cond = ready_js or "return document.readyState === 'complete';"
        ready = False
        deadline = t0 + timeout_s
        while True:
            try:
                ready = bool(driver.execute_script(cond))
            except Exception:
                ready = False
            if ready or time.perf_counter() > deadline:
                break
            time.sleep(poll_s)
        report = PageReport(url=url, load_s=time.perf_counter() - t0, ready=ready)
        self._collect_console(report)
        return report

    def _collect_console(self, report: PageReport) -> None:
        for entry in self.driver.get_log("browser"):
            level = str(entry.get("level", ""))
            text = str(entry.get("message", ""))
            report.console_messages.append((level, text))
            if level == "SEVERE":
                report.console_errors.append(text)

    def console_errors(self) -> list[str]:
        """SEVERE console messages logged since the last call (or the last :meth:`open`)."""
        return [str(e.get("message", "")) for e in self.driver.get_log("browser") if e.get("level") == "SEVERE"]

    def screenshot(self, png_path: str | Path, *, css_selector: str | None = None) -> Path:
        """Save a PNG of the viewport, or of one element (``css_selector``)."""
        out = Path(png_path)
        out.parent.mkdir(parents=True, exist_ok=True)
        if css_selector:
            from selenium.webdriver.common.by import By

            data = self.driver.find_element(By.CSS_SELECTOR, css_selector).screenshot_as_png
        else:
            data = self.driver.get_screenshot_as_png()
        tmp = out.with_name(out.name + ".part")
        tmp.write_bytes(data)
        os.replace(tmp, out)
        return out


def render_png(
    html_path: str | Path,
    png_path: str | Path,
    *,
    width_px: int = 1280,
    height_px: int = 860,
    ready_js: str | None = None,
    settle_s: float = 0.3,
    offline: bool = True,
    timeout_s: float = 60.0,
) -> PageReport:
    """Open an HTML file headless and save a screenshot of it as PNG.

    Parameters
    ----------
    ready_js
        Ready condition (see :meth:`HeadlessBrowser.open`).
    settle_s
        Extra seconds to wait after the ready condition (animations, tiles).
    offline
        Keep the network cut off (default). Pass ``False`` to let tile basemaps load.

    Returns
    -------
    PageReport
        Console errors and timings of the page.
    """
    with HeadlessBrowser(width_px=width_px, height_px=height_px, offline=offline) as b:
        report = b.open(html_path, ready_js=ready_js, timeout_s=timeout_s)
        if settle_s > 0:
            time.sleep(settle_s)
        b.screenshot(png_path)
    return report


@dataclass(frozen=True)
class PngStats:
    """Pixel statistics of an image, to tell a drawn picture from a blank one."""

    width_px: int
    height_px: int
    std: float  # standard deviation of the grey levels, 0–255
    distinct_colours: int
    dominant_share: float  # share of pixels with the most frequent colour

    def is_blank(self, *, min_std: float = 2.0, max_dominant_share: float = 0.995) -> bool:
        """True for an image that is (almost) one flat colour."""
        return self.std < min_std or self.dominant_share > max_dominant_share or self.distinct_colours < 3


def png_stats(png: str | Path | bytes) -> PngStats:
    """Pixel statistics of a PNG file or bytes (grey-level spread, colour count, dominant colour share)."""
    import io

    import numpy as np
    from PIL import Image

    src: Any = io.BytesIO(png) if isinstance(png, (bytes, bytearray)) else png
    try:
        with Image.open(src) as im:
            rgb = np.asarray(im.convert("RGB"))
    except (OSError, ValueError) as exc:
        raise InputFileError(f"{png if not isinstance(png, (bytes, bytearray)) else 'PNG data'}: not a readable image ({exc})") from None
    h, w = rgb.shape[:2]
    grey = rgb.astype(np.float64) @ np.array([0.299, 0.587, 0.114])
    packed = (rgb[..., 0].astype(np.uint32) << 16) | (rgb[..., 1].astype(np.uint32) << 8) | rgb[..., 2].astype(np.uint32)
    _, counts = np.unique(packed.ravel(), return_counts=True)
    return PngStats(
        width_px=int(w),
        height_px=int(h),
        std=float(grey.std()),
        distinct_colours=int(counts.size),
        dominant_share=float(counts.max() / counts.sum()) if counts.size else 1.0,
    )


#: the public names of this module (``from … import *``, the API reference)
__all__ = [
    "CHROMIUM_FLAGS", "OFFLINE_FLAGS", "BrowserPaths", "find_browser", "browser_unavailable_reason", "PageReport",
    "HeadlessBrowser", "render_png", "PngStats", "png_stats"
]
