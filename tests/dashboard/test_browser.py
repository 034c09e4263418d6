"""What a person sees: Debian's headless Chromium loads the overview and a maintainer page
(`--dump-dom` for the rendered DOM, `--screenshot` for the picture, kept in the test's folder)."""

from __future__ import annotations

import shutil
import subprocess
from pathlib import Path

import pytest

CHROMIUM = shutil.which("chromium") or shutil.which("chromium-browser")
# The closed network here refuses Chromium's own background connections; these flags keep it quiet.
FLAGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run", "--disable-background-networking",
         "--disable-component-update", "--disable-sync", "--hide-scrollbars"]


def chromium(tmp_path: Path, *args: str) -> subprocess.CompletedProcess:
    if CHROMIUM is None:
        pytest.fail("chromium is not installed: run the README's test command (bash scripts/test)")
    profile = tmp_path / "chromium-profile"
    return subprocess.run([CHROMIUM, *FLAGS, f"--user-data-dir={profile}", *args], capture_output=True, text=True, timeout=120)


def test_overview_and_maintainer_page_in_a_browser(dashboard, tmp_path):
    overview = chromium(tmp_path, "--dump-dom", f"{dashboard.url}/dashboard/").stdout
    assert "Maintainers" in overview and 'href="/dashboard/maintainers/alice"' in overview

    page_url = f"{dashboard.url}/dashboard/maintainers/alice"
    dom = chromium(tmp_path, "--dump-dom", page_url).stdout
    assert "Needs attention" in dom
    assert "osx-64 1.0.0" in dom  # the lagging subdir, as rendered

    for name, size in (("desktop", "1280,900"), ("phone", "390,844")):
        shot = tmp_path / f"maintainer-{name}.png"
        chromium(tmp_path, f"--screenshot={shot}", f"--window-size={size}", page_url)
        assert shot.is_file() and shot.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n", f"no screenshot at {shot}"
        assert shot.stat().st_size > 10_000  # a rendered page, not a blank frame
    print(f"screenshots in {tmp_path}")
    if (keep := __import__("os").environ.get("DASHBOARD_SCREENSHOTS")):
        for shot in tmp_path.glob("*.png"):
            shutil.copy(shot, keep)

