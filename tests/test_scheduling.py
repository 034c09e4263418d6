"""tests/scheduling.py: the files that take the session dashboards are one unit of work for
pytest-xdist, every other file is a unit of its own."""

from __future__ import annotations

from pathlib import Path

from tests.scheduling import SHARED_UNIT, scheduler_class, work_unit

ROOT = Path(__file__).resolve().parents[1]


def test_files_taking_the_session_dashboards_share_one_worker(tmp_path):
    (tmp_path / "tests").mkdir()
    (tmp_path / "tests" / "test_a.py").write_text("def test_one(dashboard, tmp_path):\n    pass\n")
    (tmp_path / "tests" / "test_b.py").write_text("class TestB:\n    def test_two(self, *, dashboard):\n        pass\n")
    (tmp_path / "tests" / "test_c.py").write_text("def test_three(database_url):\n    dashboard = 1\n")
    assert work_unit("tests/test_a.py::test_one[sqlite]", tmp_path) == SHARED_UNIT
    assert work_unit("tests/test_b.py::TestB::test_two[postgresql]", tmp_path) == SHARED_UNIT
    assert work_unit("tests/test_c.py::test_three[sqlite]", tmp_path) == "tests/test_c.py"
    assert work_unit("tests/test_missing.py::test_x", tmp_path) == "tests/test_missing.py"


def test_the_dashboard_server_tests_are_in_the_shared_unit():
    assert work_unit("tests/dashboard/test_server.py::test_package_api[sqlite]", ROOT) == SHARED_UNIT
    assert work_unit("tests/dashboard/test_identity.py::test_x", ROOT) == "tests/dashboard/test_identity.py"


def test_the_scheduler_overrides_a_method_xdist_still_calls():
    from xdist.scheduler import LoadFileScheduling

    assert callable(vars(LoadFileScheduling).get("_split_scope")), "xdist renamed _split_scope: tests/scheduling.py no longer applies"
    split = scheduler_class(ROOT)._split_scope
    assert split(None, "tests/dashboard/test_server.py::test_package_api[sqlite]") == SHARED_UNIT
    assert split(None, "tests/dashboard/test_identity.py::test_x") == "tests/dashboard/test_identity.py"
