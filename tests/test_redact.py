"""The one secret scrubber, on each form a secret takes: compiled markers, Pulumi wire and state values."""

from __future__ import annotations

import json

from condainfra.engine.automation import _scrub
from condainfra.plan.diff import MASK, mask
from condainfra.redact import PULUMI_SECRET_SIG, PULUMI_SIG_KEY, redact


def test_every_form_is_replaced_at_any_depth():
    value = {
        "a": {"$secret": "config:TOKEN"},
        "b": [{"x": {PULUMI_SIG_KEY: PULUMI_SECRET_SIG, "plaintext": "\"hunter2\""}}],
        "c": {PULUMI_SIG_KEY: PULUMI_SECRET_SIG, "ciphertext": "v1:abc"},
        "asset": {PULUMI_SIG_KEY: "c44067f5952c0a294b673a41bacd8c17", "path": "file.txt"},  # an asset is not a secret
        "plain": "visible",
    }
    out = redact(value, "X")
    assert out == {"a": "X", "b": [{"x": "X"}], "c": "X", "asset": value["asset"], "plain": "visible"}
    assert "hunter2" not in json.dumps(mask(value)) and "v1:abc" not in json.dumps(_scrub(value))
    assert mask(value)["a"] == MASK and _scrub(value)["c"] == {"$secret": "state"}
