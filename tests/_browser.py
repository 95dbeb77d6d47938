"""Which Chromium-family browser the browser tests drive (Playwright's ``executable_path``).

No browser is downloaded: the tests use one already installed. ``KANLAB_BROWSER`` names it
explicitly; otherwise the first of ``chromium``, ``google-chrome``, ``google-chrome-stable``,
``chromium-browser`` and ``chrome`` on PATH (Debian's chromium, the Google Chrome of GitHub's
runners, Ubuntu's and macOS's names), then the usual macOS application path.
"""

from __future__ import annotations

import os
import shutil
from pathlib import Path

NAMES = ("chromium", "google-chrome", "google-chrome-stable", "chromium-browser", "chrome")
MAC_APPS = (
    "/Applications/Google Chrome.app/Contents/MacOS/Google Chrome",
    "/Applications/Chromium.app/Contents/MacOS/Chromium",
)
# Headless, no sandbox (containers run as root), no GPU, no background requests to Google.
LAUNCH_ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking"]
INSTALL_HINT = ("no chromium or chrome found on PATH (Debian/Ubuntu: apt-get install chromium; "
                "macOS: brew install --cask chromium; or set KANLAB_BROWSER=/path/to/chrome)")


def browser_executable(path: str | None = None) -> Path | None:
    """The browser to launch, or None when none is installed.

    ``path`` (default: ``$PATH``) is searched for :data:`NAMES` in order after ``KANLAB_BROWSER``.
    """
    explicit = os.environ.get("KANLAB_BROWSER")
    if explicit:
        found = shutil.which(explicit, path=path)
        return Path(found) if found else None
    for name in NAMES:
        found = shutil.which(name, path=path)
        if found:
            return Path(found)
    for app in MAC_APPS:
        if Path(app).is_file():
            return Path(app)
    return None
