#!/usr/bin/env python3
"""A recording fake of the `pulumi` CLI, for contract tests of the Automation API path.

Mock: the Pulumi CLI and engine (neither can be installed on the development machines). It
answers the commands the Automation API sends the way the CLI documents them, keeps stacks in
the file backend named by PULUMI_BACKEND_URL (`.pulumi/stacks/<project>/<stack>.json`, the
project-scoped layout), writes secrets into stacks/Pulumi.<stack>.yaml as `secure:` values, and
streams engine events to `--event-log`: a file for CLIs up to v3.205, gRPC (`tcp://...`, the
`pulumirpc.Events` service) after, as the SDK expects. Every call is appended to
$FAKE_PULUMI_LOG as a JSON line (argv, cwd, the backend URL, whether a passphrase was set).

What it does not do: run the program, talk to a provider, encrypt (a `secure:` value here is
a digest, not ciphertext), lock stacks, or check a passphrase against the salt.

Behaviour knobs (environment):
  FAKE_PULUMI_VERSION  what `pulumi version` prints (default v3.210.0, the gRPC event transport)
  FAKE_PULUMI_EVENTS   a JSON file {stack or "*": {"preview"|"up"|"refresh": [engine events],
                       "outputs": {name: {"value": v, "secret": bool}}}}
  FAKE_PULUMI_CHANGES  the summary's resourceChanges when a scenario gives no events (default {"same": 1})
  FAKE_PULUMI_FAIL     "command" or "stack:command": exit 255 with an error on stderr
  FAKE_PULUMI_DELAY    seconds each preview/up/refresh takes (the parallel benchmark)
"""

import base64
import hashlib
import json
import os
import sys
import time
from collections import Counter
from pathlib import Path
from urllib.parse import unquote, urlparse

PROJECT = "condainfra"
raw = sys.argv[1:]
args = [a for a in raw if a != "--non-interactive"]  # a global flag the Automation API always adds


def option(name):
    for i, a in enumerate(args):
        if a == name and i + 1 < len(args):
            return args[i + 1]
        if a.startswith(name + "="):
            return a.split("=", 1)[1]
    return None


def positional(after):
    """The arguments after the command words that are neither flags nor a flag's value."""
    out, skip = [], False
    for a in args[after:]:
        if skip:
            skip = False
        elif a in ("--stack", "--path-separator", "--cwd"):
            skip = True
        elif not a.startswith("-"):
            out.append(a)
    return out


stdin_text = None
if args[:2] == ["config", "set"] and len(positional(2)) == 1:
    # `config set NAME --secret` without a value: the CLI reads it from standard input
    stdin_text = sys.stdin.read()

backend = os.environ.get("PULUMI_BACKEND_URL", "")
with open(os.environ["FAKE_PULUMI_LOG"], "a", encoding="utf-8") as log:
    log.write(json.dumps({
        "args": raw,
        "cwd": os.getcwd(),
        "backend": backend,
        "passphrase": bool(os.environ.get("PULUMI_CONFIG_PASSPHRASE") or os.environ.get("PULUMI_CONFIG_PASSPHRASE_FILE")),
        "has_github_token": "GITHUB_TOKEN" in os.environ,
        "stdin_chars": None if stdin_text is None else len(stdin_text),
        "t": time.time(),
    }) + "\n")


def fail(message, code=255):
    sys.stderr.write(message.rstrip("\n") + "\n")
    sys.exit(code)


command = args[0] if args else ""
stack = option("--stack")
failing = os.environ.get("FAKE_PULUMI_FAIL", "")
if failing and failing in (command, f"{stack}:{command}"):
    fail("error: GET https://api.github.com/orgs/conda-forge: 401 Bad credentials []")


def backend_dir():
    url = urlparse(backend)
    if url.scheme == "file":
        return Path(unquote(url.path))
    # another backend (s3://...): kept beside the log, one folder per URL, credentials and all
    return Path(os.environ["FAKE_PULUMI_LOG"]).with_name("backend-" + hashlib.sha256(backend.encode()).hexdigest()[:12])


def stack_file(name):
    return backend_dir() / ".pulumi" / "stacks" / PROJECT / f"{name}.json"


def stack_config(name):
    import yaml

    project = yaml.safe_load(Path("Pulumi.yaml").read_text())
    return Path(project.get("stackConfigDir") or ".") / f"Pulumi.{name}.yaml"


def read_yaml(path):
    import yaml

    return (yaml.safe_load(path.read_text()) or {}) if path.is_file() else {}


def write_yaml(path, document):
    import yaml

    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(yaml.safe_dump(document, sort_keys=True))


def need_stack(name):
    if not name or not stack_file(name).is_file():
        fail(f"error: no stack named '{name}' found")
    return json.loads(stack_file(name).read_text())


def need_passphrase(name):
    if "encryptionsalt" in read_yaml(stack_config(name)) and not (
        os.environ.get("PULUMI_CONFIG_PASSPHRASE") or os.environ.get("PULUMI_CONFIG_PASSPHRASE_FILE")
    ):
        fail("error: constructing secrets manager of type \"passphrase\": passphrase must be set with "
             "PULUMI_CONFIG_PASSPHRASE or PULUMI_CONFIG_PASSPHRASE_FILE environment variables")


def scenario(name):
    path = os.environ.get("FAKE_PULUMI_EVENTS")
    if not path:
        return {}
    document = json.loads(Path(path).read_text())
    return document.get(name, document.get("*", {}))


def send_events(events):
    """Events in sequence, as the engine sends them: a prelude first, the summary, then a cancel event,
    which tells the SDK's file watcher that the stream is over."""
    target = option("--event-log")
    if not target:
        return
    numbered = [{"sequence": i, "timestamp": int(time.time()), **e} for i, e in enumerate(events)]
    lines = [json.dumps(e) for e in numbered]
    if target.startswith("tcp://"):
        with grpc_channel(target[len("tcp://"):]) as channel:
            stream = channel.stream_unary("/pulumirpc.Events/StreamEvents")
            stream(iter([event_request(line) for line in lines]))
    else:
        with open(target, "a", encoding="utf-8") as log:
            for line in lines:
                log.write(line + "\n")


def grpc_channel(address):
    import grpc

    return grpc.insecure_channel(address)


def event_request(event):
    """Pulumi's ``pulumirpc.EventRequest`` (pulumi/events.proto: ``string event = 1;``) in protobuf's wire
    format, written here: loading the generated module and protobuf's runtime cost every preview and up
    a tenth of a second. The SDK's server parses it with the generated code."""
    data = event.encode("utf-8")
    if not data:
        return b""  # proto3 leaves a field at its default out
    size, length = len(data), bytearray()
    while True:  # the length as a base-128 varint
        byte, size = size & 0x7F, size >> 7
        length.append(byte | (0x80 if size else 0))
        if not size:
            break
    return b"\x0a" + bytes(length) + data  # field 1, wire type 2 (length-delimited)


def summary(steps):
    counted = Counter()
    for event in steps:
        meta = (event.get("resourcePreEvent") or {}).get("metadata")
        if meta:
            counted[meta["op"]] += 1
    if not counted:
        return json.loads(os.environ.get("FAKE_PULUMI_CHANGES", '{"same": 1}'))
    return dict(counted)


if command == "version":
    print(os.environ.get("FAKE_PULUMI_VERSION", "v3.210.0"))
elif args[:2] == ["stack", "select"]:
    need_stack(stack)
elif args[:2] == ["stack", "ls"]:
    # the project's stacks in the backend; listing decrypts nothing, so no passphrase is needed
    folder = backend_dir() / ".pulumi" / "stacks" / PROJECT
    print(json.dumps([{"name": p.stem, "current": False} for p in sorted(folder.glob("*.json"))]))
elif args[:2] == ["stack", "init"]:
    name = args[2]
    if stack_file(name).is_file():
        fail(f"error: stack '{name}' already exists")
    provider = option("--secrets-provider") or "passphrase"
    config_path = stack_config(name)
    config = read_yaml(config_path)
    if provider == "passphrase":
        if not (os.environ.get("PULUMI_CONFIG_PASSPHRASE") or os.environ.get("PULUMI_CONFIG_PASSPHRASE_FILE")):
            fail("error: passphrase must be set with PULUMI_CONFIG_PASSPHRASE or PULUMI_CONFIG_PASSPHRASE_FILE environment variables")
        config.setdefault("encryptionsalt", "v1:ZmFrZXNhbHQ=:v1:fake:fake")
    else:
        config.update(secretsprovider=provider, encryptedkey="ZmFrZWtleQ==")
    write_yaml(config_path, config)
    stack_file(name).parent.mkdir(parents=True, exist_ok=True)
    stack_file(name).write_text(json.dumps({"version": 3, "deployment": {"manifest": {}, "resources": []}, "outputs": {}}))
elif args[:2] == ["stack", "export"]:
    print(json.dumps({k: v for k, v in need_stack(stack).items() if k in ("version", "deployment")}))
elif args[:2] == ["stack", "output"]:
    outputs = need_stack(stack).get("outputs", {})
    shown = "--show-secrets" in args
    print(json.dumps({k: (o["value"] if shown or not o.get("secret") else "[secret]") for k, o in outputs.items()}))
elif args[:2] == ["stack", "history"]:
    # `up` reads its own summary back, as the SDK's UpResult does
    print(json.dumps([{"kind": "update", "startTime": "2026-11-24T00:00:00.000Z", "endTime": "2026-11-24T00:00:05.000Z", "message": "",
                       "environment": {}, "config": {}, "result": "succeeded", "version": 2, "resourceChanges": need_stack(stack).get("last_changes", {})}]))
elif args[:2] == ["stack", "tag"]:
    # file backends keep tags (a `.pulumi-tags` file beside the stack) from v3.211.0 on
    need_stack(stack)
    version = tuple(int(x) for x in os.environ.get("FAKE_PULUMI_VERSION", "v3.210.0").lstrip("v").split(".")[:3])
    if version < (3, 211, 0):
        fail("error: stack tags not supported in --local mode")
    tags_file = stack_file(stack).with_suffix(".pulumi-tags")
    tags = json.loads(tags_file.read_text()) if tags_file.is_file() else {}
    words = positional(2)
    if args[2] == "set":
        tags[words[1]] = words[2]
        tags_file.write_text(json.dumps(tags))
    elif args[2] == "get":
        if words[1] not in tags:
            fail(f"error: stack tag '{words[1]}' not found for stack '{stack}'")
        print(tags[words[1]])
    else:
        print(json.dumps(tags))
elif args[:1] == ["config"] and "--show-secrets" in args and "--json" in args:
    # what the Automation API's get_all_config reads; a `secure: v1:plain:<base64>` value written by a
    # test decrypts to its text (this fake encrypts nothing), any other secure value to itself
    need_stack(stack)
    need_passphrase(stack)
    shown = {}
    for key, value in (read_yaml(stack_config(stack)).get("config") or {}).items():
        if isinstance(value, dict) and "secure" in value:
            text = str(value["secure"])
            plain = base64.b64decode(text[len("v1:plain:"):]).decode() if text.startswith("v1:plain:") else text
            shown[key] = {"value": plain, "secret": True}
        else:
            shown[key] = {"value": value if isinstance(value, str) else json.dumps(value), "secret": False}
    print(json.dumps(shown))
elif args[:2] == ["config", "set"]:
    need_stack(stack)
    need_passphrase(stack)
    name, *given = positional(2)
    value = stdin_text if stdin_text is not None else given[0]
    key = name if ":" in name else f"{PROJECT}:{name}"
    path = stack_config(stack)
    config = read_yaml(path)
    entry = {"secure": "v1:" + hashlib.sha256(value.encode()).hexdigest()} if "--secret" in args else value
    config.setdefault("config", {})[key] = entry
    write_yaml(path, config)
elif command in ("preview", "up", "refresh"):
    state = need_stack(stack)
    need_passphrase(stack)
    time.sleep(float(os.environ.get("FAKE_PULUMI_DELAY", "0")))
    plan = scenario(stack)
    steps = plan.get(command, [])
    events = [{"preludeEvent": {"config": {}}}] + steps
    events.append({"summaryEvent": {"maybeCorrupt": False, "durationSeconds": 1, "resourceChanges": summary(steps), "PolicyPacks": {}}})
    events.append({"cancelEvent": {}})
    send_events(events)
    print(f"{'Previewing update' if command != 'up' else 'Updating'} ({stack})")
    if command == "up":
        state["outputs"] = plan.get("outputs", state.get("outputs", {}))
        state["last_changes"] = summary(steps)
        stack_file(stack).write_text(json.dumps(state))
    with open(os.environ["FAKE_PULUMI_LOG"], "a", encoding="utf-8") as log:
        log.write(json.dumps({"finished": command, "stack": stack, "t": time.time()}) + "\n")
    failure = plan.get(f"{command}_error")
    if failure:
        fail(failure)
elif command == "import":
    state = need_stack(stack)
    need_passphrase(stack)
    document = json.loads(Path(option("--file")).read_text())
    root = f"urn:pulumi:{stack}::{PROJECT}::pulumi:pulumi:Stack::{PROJECT}-{stack}"
    for item in document["resources"]:
        component, provider = item.get("component", False), item["type"].startswith("pulumi:providers:")
        if not (component or provider or item.get("id")):
            fail(f"error: import file: resource {item['name']!r} of type {item['type']} has no id")
        state["deployment"]["resources"].append(
            {"urn": f"urn:pulumi:{stack}::{PROJECT}::{item['type']}::{item['name']}", "type": item["type"], "id": item.get("id", ""),
             "custom": not component, "parent": root, "inputs": {}}
        )
    stack_file(stack).write_text(json.dumps(state))
    with open(os.environ["FAKE_PULUMI_LOG"], "a", encoding="utf-8") as log:
        log.write(json.dumps({"imported": document}) + "\n")
    print(f"Importing ({stack})")
else:
    fail(f"fake pulumi: unexpected command {args}", code=2)
