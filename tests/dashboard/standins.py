"""Stand-ins for what cannot exist here, for the production-start test: AWS S3 (moto's server, a process
on loopback with IAM enforced) and GitHub's REST API (the activity tests' stand-in, in a thread). Both
answer on 127.0.0.1 only, and both are stopped however the test ends."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import threading
from http.server import ThreadingHTTPServer
from pathlib import Path

import httpx
import pytest

from condainfra.dashboard.deployment import free_port

from .conftest import wait_until
from .test_github_activity import FakeGitHub

VENV_BIN = Path(sys.executable).parent
# keys of the stand-in's set-up (and, for tests that need no S3, credentials that reach nothing)
STAND_IN_KEYS = {"AWS_ACCESS_KEY_ID": "test-only", "AWS_SECRET_ACCESS_KEY": "test-only"}


def stop_group(proc: subprocess.Popen) -> None:
    """The whole process group: Quetz's supervisor forks children."""
    for sig, wait in ((signal.SIGTERM, 15), (signal.SIGKILL, 5)):
        try:
            os.killpg(proc.pid, sig)
        except ProcessLookupError:
            break
        try:
            proc.wait(wait)
            break
        except subprocess.TimeoutExpired:
            continue
    try:
        os.killpg(proc.pid, signal.SIGKILL)
    except ProcessLookupError:
        pass


class S3StandIn:
    """A stand-in for AWS S3: moto's server (the `test` extra), a process of its own on loopback, with
    the stack's bucket created in the stack's region with the stack's object-ownership rule, and IAM
    enforced: after the set-up's own requests, only the credentials of a user holding the task role's
    policy are accepted, and only for what that policy allows. Stopped with its whole process group.

    What moto does not check: it enforces no object ownership (a bucket with ACLs off accepts an object
    written with an ACL), and it authorises a PUT carrying ``x-amz-acl`` as ``s3:PutObject`` alone. So the
    two that Quetz's ACL'd writes need (BucketOwnerPreferred, ``s3:PutObjectAcl``) are asserted on the
    compiled resources (tests/compiler/test_dashboard_stack.py), not proved by an upload here."""

    SETUP_ACTIONS = 5  # create the bucket, set its ownership, create the user, its policy, its access key

    def __init__(self, folder: Path, bucket: str, region: str, policy: dict, ownership: str):
        import boto3

        port = free_port()
        self.url, self.bucket, self.log = f"http://127.0.0.1:{port}", bucket, folder / "s3-stand-in.log"
        env = {"PATH": f"{VENV_BIN}:/usr/bin:/bin", "HOME": str(folder), "LANG": "C.UTF-8", **STAND_IN_KEYS,
               "INITIAL_NO_AUTH_ACTION_COUNT": str(self.SETUP_ACTIONS)}
        with self.log.open("ab") as out:
            self.proc = subprocess.Popen([sys.executable, "-m", "moto.server", "-H", "127.0.0.1", "-p", str(port)], env=env,
                                         stdout=out, stderr=subprocess.STDOUT, start_new_session=True)
        try:
            up = wait_until(lambda: self._answers() or self.proc.poll() is not None, timeout=60, every=0.2)
            assert up and self.proc.poll() is None, self.log.read_text()[-2000:]
            setup = {"endpoint_url": self.url, "region_name": region, **{k.lower(): v for k, v in STAND_IN_KEYS.items()}}
            s3 = boto3.client("s3", **setup)
            s3.create_bucket(Bucket=bucket, CreateBucketConfiguration={"LocationConstraint": region})
            s3.put_bucket_ownership_controls(Bucket=bucket, OwnershipControls={"Rules": [{"ObjectOwnership": ownership}]})
            iam = boto3.client("iam", **setup)
            iam.create_user(UserName="quetz-task")
            iam.put_user_policy(UserName="quetz-task", PolicyName="package-store", PolicyDocument=json.dumps(policy))
            key = iam.create_access_key(UserName="quetz-task")["AccessKey"]
            # the task role's credentials, as ECS would hand them to the container
            self.task_keys = {"AWS_ACCESS_KEY_ID": key["AccessKeyId"], "AWS_SECRET_ACCESS_KEY": key["SecretAccessKey"]}
            self.client = boto3.client("s3", endpoint_url=self.url, region_name=region, **{k.lower(): v for k, v in self.task_keys.items()})
        except BaseException:
            stop_group(self.proc)
            raise

    def _answers(self) -> bool:
        try:  # moto's own API: not an S3 or IAM action, so not one of the set-up's
            return httpx.get(f"{self.url}/moto-api/", timeout=2).status_code == 200
        except httpx.HTTPError:
            return False

    def objects(self) -> dict[str, bytes]:
        listed = self.client.list_objects_v2(Bucket=self.bucket).get("Contents", [])
        return {o["Key"]: self.client.get_object(Bucket=self.bucket, Key=o["Key"])["Body"].read() for o in listed}


@pytest.fixture
def github_stand_in():
    """GitHub's REST API cannot be reached here: the activity tests' stand-in, answering in its shapes."""
    FakeGitHub.seen, FakeGitHub.budget = [], 1000
    server = ThreadingHTTPServer(("127.0.0.1", 0), FakeGitHub)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}"
    finally:
        server.shutdown()
        server.server_close()
