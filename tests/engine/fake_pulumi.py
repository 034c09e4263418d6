#!/usr/bin/env python3
"""A recording fake of the `pulumi` CLI, for contract tests of the Automation API path.

Mock: the Pulumi CLI and engine (neither can be installed on the development
machines). It answers the commands the Automation API sends the way the real
CLI documents them, and appends every call to $FAKE_PULUMI_LOG as JSON lines.

Behaviour knobs (environment):
  FAKE_PULUMI_STATE    a file holding the `pulumi stack export` JSON (default: empty state)
  FAKE_PULUMI_CHANGES  JSON resourceChanges for preview/up/refresh summaries (default {"same": 1})
  FAKE_PULUMI_FAIL     a subcommand (e.g. "up") that exits 255 with an error on stderr
"""

import json
import os
import sys

args = [a for a in sys.argv[1:] if a != "--non-interactive"]  # a global flag the Automation API always adds
with open(os.environ["FAKE_PULUMI_LOG"], "a", encoding="utf-8") as log:
    log.write(json.dumps({"args": sys.argv[1:], "cwd": os.getcwd(), "has_github_token": "GITHUB_TOKEN" in os.environ}) + "\n")

command = args[0] if args else ""
changes = json.loads(os.environ.get("FAKE_PULUMI_CHANGES", '{"same": 1}'))

if os.environ.get("FAKE_PULUMI_FAIL") == command:
    sys.stderr.write("error: GET https://api.github.com/orgs/conda-forge: 401 Bad credentials []\n")
    sys.exit(255)


def option(name):
    return args[args.index(name) + 1] if name in args else None


def summary_event():
    path = option("--event-log")
    if path:
        with open(path, "a", encoding="utf-8") as events:
            events.write(json.dumps({"sequence": 1, "timestamp": 1, "summaryEvent": {"maybeCorrupt": False, "durationSeconds": 1, "resourceChanges": changes, "PolicyPacks": {}}}) + "\n")


if command == "version":
    print("v3.200.0")
elif args[:2] in (["stack", "select"], ["stack", "init"]):
    pass
elif args[:2] == ["stack", "export"]:
    state = os.environ.get("FAKE_PULUMI_STATE")
    print(open(state).read() if state else json.dumps({"version": 3, "deployment": {"manifest": {}, "resources": []}}))
elif args[:2] == ["stack", "output"]:
    print("{}")
elif args[:2] == ["stack", "history"]:
    print(json.dumps([{"kind": "update", "startTime": "2026-11-24T00:00:00.000Z", "endTime": "2026-11-24T00:00:05.000Z", "message": "", "environment": {}, "config": {}, "result": "succeeded", "version": 2, "resourceChanges": changes}]))
elif command in ("preview", "up", "refresh"):
    print(f"{'Previewing' if command != 'up' else 'Updating'} ({option('--stack')})")
    summary_event()
else:
    sys.stderr.write(f"fake pulumi: unexpected command {args}\n")
    sys.exit(2)
