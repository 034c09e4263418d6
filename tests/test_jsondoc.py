"""condainfra.jsondoc: the one parser of JSON from outside, bounded in depth, with a clear error."""

from __future__ import annotations

import pytest

from condainfra import jsondoc
from condainfra.jsondoc import MAX_DEPTH, JsonDocumentError, loads


def nested(levels: int) -> bytes:
    return b"[" * levels + b"]" * levels


def test_the_depth_limit_is_exact():
    assert isinstance(loads(nested(MAX_DEPTH), "doc"), list)
    with pytest.raises(JsonDocumentError, match=f"^doc: JSON nested deeper than {MAX_DEPTH} levels$"):
        loads(nested(MAX_DEPTH + 1), "doc")
    with pytest.raises(JsonDocumentError, match="^doc: JSON nested deeper than 3 levels$"):
        loads(b'{"a": {"b": {"c": {}}}}', "doc", max_depth=3)


@pytest.mark.parametrize("levels", [1_000, 100_000])
def test_a_document_nested_far_deeper_is_the_same_error_never_a_recursion_error(levels):
    with pytest.raises(JsonDocumentError) as caught:
        loads(nested(levels), "deep.json")
    assert str(caught.value) == f"deep.json: JSON nested deeper than {MAX_DEPTH} levels" and caught.value.line is None


def test_a_malformed_document_names_its_line_and_column():
    with pytest.raises(JsonDocumentError) as caught:
        loads(b'{\n  "a": [1,,]\n}', "bad.json")
    assert caught.value.line == 2 and caught.value.reason == "unexpected character, expected a JSON value (column 11)"
    assert str(caught.value).startswith("bad.json: not valid JSON (")


def test_pairs_hook_sees_every_key_as_written():
    pairs: list = []
    value = loads(b'{"a": 1, "a": 2, "b": {"c": 3}}', "doc", pairs_hook=lambda p: pairs.append(p) or dict(p))
    assert value == {"a": 2, "b": {"c": 3}}
    assert pairs == [[("c", 3)], [("a", 1), ("a", 2), ("b", {"c": 3})]]


def test_pairs_hook_is_never_reached_by_a_deep_document():
    called = []
    with pytest.raises(JsonDocumentError, match="nested deeper"):
        jsondoc.loads(b'{"a": ' + nested(50_000) + b"}", "doc", pairs_hook=called.append)
    assert called == []
