"""engine/mockrun.py reaches past Pulumi's exported names in one function; these fail by name on an
upgrade that moves what it uses. Mock: the Pulumi engine (the SDK's own mock runtime stands in)."""

from __future__ import annotations

import pulumi
import pulumi_github as github

from condainfra.engine import mockrun


def test_the_sdk_internals_are_where_mockrun_expects_them():
    monitor_class, inputs_of = mockrun.sdk_internals()
    assert monitor_class.__name__ == "MockMonitor" and callable(getattr(monitor_class, "RegisterResource", None))
    from google.protobuf import struct_pb2

    struct = struct_pb2.Struct()
    struct.update({"name": "staged-recipes", "topics": ["a"]})
    assert inputs_of(struct) == {"name": "staged-recipes", "topics": ["a"]}


def test_two_runs_in_one_process_each_get_a_fresh_root_stack():
    def program():
        github.Team("core", name="core")

    first = mockrun.run_with_mocks("condainfra", "one", program)
    second = mockrun.run_with_mocks("condainfra", "two", program)
    assert [r.urn for r in first] == ["urn:pulumi:one::condainfra::github:index/team:Team::core"]
    assert [r.urn for r in second] == ["urn:pulumi:two::condainfra::github:index/team:Team::core"]
    assert second[0].parent is None and second[0].inputs["name"] == "core"
    assert pulumi.get_stack() == "two"
