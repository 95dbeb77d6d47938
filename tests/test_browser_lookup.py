"""tests/_browser.py finds chromium or chrome on PATH, in its documented order."""

from __future__ import annotations

import stat
from pathlib import Path

import pytest
from _browser import MAC_APPS, NAMES, browser_executable


def _fake(folder: Path, name: str) -> Path:
    exe = folder / name
    exe.write_text("#!/bin/sh\n")
    exe.chmod(exe.stat().st_mode | stat.S_IXUSR)
    return exe


def test_finds_chrome_when_there_is_no_chromium(tmp_path, monkeypatch) -> None:
    monkeypatch.delenv("KANLAB_BROWSER", raising=False)
    assert browser_executable(path=str(tmp_path)) in (None, *map(Path, MAC_APPS))
    chrome = _fake(tmp_path, "google-chrome")
    assert browser_executable(path=str(tmp_path)) == chrome


def test_prefers_chromium_and_follows_the_order(tmp_path, monkeypatch) -> None:
    monkeypatch.delenv("KANLAB_BROWSER", raising=False)
    for name in reversed(NAMES):
        exe = _fake(tmp_path, name)
        assert browser_executable(path=str(tmp_path)) == exe  # the earliest name present wins
    assert browser_executable(path=str(tmp_path)).name == "chromium"


def test_kanlab_browser_overrides_and_is_not_silently_replaced(tmp_path, monkeypatch) -> None:
    _fake(tmp_path, "chromium")
    mine = _fake(tmp_path, "my-chrome")
    monkeypatch.setenv("KANLAB_BROWSER", str(mine))
    assert browser_executable(path=str(tmp_path)) == mine
    monkeypatch.setenv("KANLAB_BROWSER", str(tmp_path / "missing"))
    assert browser_executable(path=str(tmp_path)) is None  # a wrong setting is not ignored


@pytest.mark.parametrize("name", ["chromium", "chrome"])
def test_a_plain_file_that_is_not_executable_is_skipped(tmp_path, monkeypatch, name) -> None:
    monkeypatch.delenv("KANLAB_BROWSER", raising=False)
    (tmp_path / name).write_text("not a program")
    found = browser_executable(path=str(tmp_path))
    assert found is None or found.parent != tmp_path
