"""What a person sees: Debian's Chromium (driven by playwright-core from npm, never a downloaded
browser) loads the overview, a maintainer page (sorted, second page), a team page and a package page
at desktop and phone sizes, keeps a screenshot of each, and runs axe-core on each: no serious or
critical accessibility violation. The npm packages are installed by scripts/test into .venv/axe."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
MODULES = ROOT / ".venv" / "axe" / "node_modules"
CHROMIUM = shutil.which("chromium") or shutil.which("chromium-browser")
# The closed network here refuses Chromium's own background connections; these flags keep it quiet.
FLAGS = ["--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run", "--disable-background-networking",
         "--disable-component-update", "--disable-sync", "--hide-scrollbars"]
SIZES = {"desktop": [1280, 900], "phone": [390, 844]}


def check_pages(pages: dict[str, str], out: Path) -> list[dict]:
    node = shutil.which("node")
    if CHROMIUM is None or node is None or not (MODULES / "axe-core").is_dir() or not (MODULES / "playwright-core").is_dir():
        pytest.fail("chromium, node, axe-core or playwright-core is missing: run the README's test command (bash scripts/test)")
    job = {"modules": str(MODULES), "chromium": CHROMIUM, "flags": FLAGS, "out": str(out), "sizes": SIZES,
           "pages": [{"name": name, "url": url} for name, url in pages.items()]}
    result = subprocess.run([node, str(Path(__file__).with_name("browser_check.cjs")), json.dumps(job)], capture_output=True, text=True, timeout=300)
    assert result.returncode == 0, result.stderr[-2000:]
    return json.loads(result.stdout)


def test_pages_in_a_browser_look_right_and_pass_axe(dashboard, tmp_path):
    pages = {
        "overview": f"{dashboard.url}/dashboard/",
        "maintainer-sorted-page2": f"{dashboard.url}/dashboard/maintainers/alice?sort=name&per_page=1&page=2",
        "maintainer": f"{dashboard.url}/dashboard/maintainers/alice",
        "team": f"{dashboard.url}/dashboard/teams/conda-forge/core",
        "package": f"{dashboard.url}/dashboard/packages/conda-forge/libfoo",
    }
    results = check_pages(pages, tmp_path)
    assert len(results) == len(pages) * len(SIZES)
    for r in results:
        where = f"{r['name']} ({r['size']})"
        assert r["status"] == 200, where
        shot = Path(r["shot"])
        assert shot.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n" and shot.stat().st_size > 10_000, where  # a rendered page, not a blank frame
        bad = [v for v in r["violations"] if v["impact"] in ("serious", "critical")]
        assert not bad, f"{where}: {bad}"
        # nothing wider than the screen, and no column of the package table hidden on a phone
        assert r["layout"]["scrollWidth"] <= r["width"], where
        assert r["layout"]["hiddenCells"] == 0, where
    phone = {r["name"]: r for r in results if r["size"] == "phone"}
    assert phone["maintainer"]["layout"]["queueVisible"] and phone["team"]["layout"]["queueVisible"]
    print(f"screenshots in {tmp_path}")
    if keep := os.environ.get("DASHBOARD_SCREENSHOTS"):
        Path(keep).mkdir(parents=True, exist_ok=True)
        for shot in tmp_path.glob("*.png"):
            shutil.copy(shot, keep)
