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


def test_the_scrubber_takes_known_values_and_url_userinfo_out_of_free_text():
    from condainfra.redact import Scrubber

    scrub = Scrubber(values=["ghp_abcdefghijklmnop", "ab"], urls=["s3://user:pass@bucket/state"])
    text = 'token ghp_abcdefghijklmnop was used on s3://user:pass@bucket/state; {"t": "ghp_abcdefghijklmnop"}'
    out = scrub.text(text)
    assert "ghp_abcdefghijklmnop" not in out and "user:pass" not in out and "s3://bucket/state" in out
    assert out.count("[secret]") == 2
    assert scrub.text("a tab") == "a tab"  # a value too short to be a credential masks nothing
    quoted = Scrubber(values=['pa"ss\\word'])  # as the engine prints it inside JSON, escaped
    assert quoted.text('{"v": "pa\\"ss\\\\word"}') == '{"v": "[secret]"}'
    assert scrub.value({"a": ["x ghp_abcdefghijklmnop"], "b": {"$secret": "env:X"}}) == {"a": ["x [secret]"], "b": "[secret]"}


def test_env_sources_are_found_at_any_depth():
    from condainfra.redact import env_sources

    assert env_sources({"a": [{"v": {"$secret": "env:ONE"}}], "b": {"$secret": "config:TWO"}, "c": {"d": {"$secret": "env:THREE"}}}) == {"ONE", "THREE"}
