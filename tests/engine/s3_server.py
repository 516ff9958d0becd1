"""A real S3 server for the engine tests: SeaweedFS's `weed server` (built from Go modules by `make s3`) on
127.0.0.1, with one S3 identity so every request is signed, and a small AWS Signature V4 client of its own
(stdlib only: no boto3 here) to create buckets and list what the Pulumi CLI wrote.

`S3Server.start()` picks free ports, starts master, volume, filer and S3 gateway in one process (in a session of
its own, so that `stop()` ends it and anything it started), waits until the gateway answers a signed request and
accepts a write, and `stop()` ends it. Every wait is bounded in attempts and seconds; nothing leaves the machine
(SeaweedFS's telemetry is off).

`S3Server.backend(bucket)` creates a bucket and returns an `S3Backend`: the `pulumi login` URL and the
environment (AWS_ACCESS_KEY_ID, ...) a Workspace needs to keep its stacks there.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import hmac
import http.client
import json
import os
import signal
import socket
import subprocess
import time
import xml.etree.ElementTree as ET
from dataclasses import dataclass, field
from pathlib import Path
from urllib.parse import quote

REGION = "us-east-1"
ACCESS_KEY = "SITEKITTESTACCESSKEY"  # the identity of the throwaway server; nothing else accepts it
SECRET_KEY = "sitekit-throwaway-s3-secret-key-0123456789"
S3_NS = "{http://s3.amazonaws.com/doc/2006-03-01/}"
START_SECONDS = 180  # the whole start-up, on 2 shared cores
REQUEST_SECONDS = 30  # one HTTP request


class S3Error(RuntimeError):
    """The S3 server would not start, or answered a request with an error."""


def find_weed(root: Path) -> Path | None:
    """$SITEKIT_WEED, else the `weed` that `make s3` built into .tools/bin (no other on PATH: its version and
    flags would be anyone's)."""
    explicit = os.environ.get("SITEKIT_WEED")
    if explicit:
        return Path(explicit)
    built = root / ".tools" / "bin" / "weed"
    return built if built.exists() else None


def free_ports(count: int) -> list[int]:
    """`count` distinct ports that were free on 127.0.0.1 a moment ago."""
    sockets = []
    try:
        for _ in range(count):
            s = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
            s.bind(("127.0.0.1", 0))
            sockets.append(s)
        return [s.getsockname()[1] for s in sockets]
    finally:
        for s in sockets:
            s.close()


@dataclass
class Response:
    status: int
    headers: dict[str, str]
    body: bytes


@dataclass(frozen=True)
class S3Backend:
    """A bucket as a Pulumi DIY backend: `url` for `pulumi login` (or PULUMI_BACKEND_URL), `env` the credentials
    and region the CLI's S3 client reads. Give both to a Workspace: `Workspace(..., backend_url=b.url,
    backend_env=b.env)` (conftest's `new_workspace(..., backend=b)` does)."""

    server: "S3Server"
    bucket: str
    url: str
    env: dict[str, str]

    def keys(self, prefix: str = "") -> list[str]:
        return self.server.list_objects(self.bucket, prefix)


@dataclass
class S3Server:
    weed: Path
    folder: Path
    ports: dict[str, int]
    access_key: str = ACCESS_KEY
    secret_key: str = SECRET_KEY
    process: subprocess.Popen | None = None
    buckets: list[str] = field(default_factory=list)

    @property
    def endpoint(self) -> str:
        return f"127.0.0.1:{self.ports['s3']}"

    @property
    def log(self) -> Path:
        return self.folder / "weed.log"

    # ---------------------------------------------------------------------------------------- life
    @classmethod
    def start(cls, weed: Path, folder: Path, attempts: int = 3) -> "S3Server":
        """A ready server; started again on other ports (at most `attempts` times) when it exits at start-up,
        as it does when another process took one of its ports in the meantime."""
        names = ["master", "master.grpc", "volume", "volume.grpc", "filer", "filer.grpc", "s3", "s3.grpc"]
        for attempt in range(1, attempts + 1):
            home = folder.resolve() / f"try-{attempt}"
            home.mkdir(parents=True)
            server = cls(weed, home, dict(zip(names, free_ports(len(names)))))
            server._launch()
            try:
                server._wait_ready()
            except S3Error:
                exited = server.process.poll() is not None
                server.stop()
                if exited and attempt < attempts:
                    continue
                raise
            except BaseException:
                server.stop()
                raise
            return server

    def command(self) -> list[str]:
        p, d = self.ports, self.folder
        config = d / "s3-identities.json"
        config.write_text(json.dumps({"identities": [{
            "name": "sitekit-tests",
            "credentials": [{"accessKey": self.access_key, "secretKey": self.secret_key}],
            "actions": ["Admin", "Read", "List", "Tagging", "Write"]}]}))
        (d / "data").mkdir(parents=True, exist_ok=True)
        return [str(self.weed), "server", "-ip=127.0.0.1", "-ip.bind=127.0.0.1", f"-dir={d / 'data'}",
                f"-master.port={p['master']}", f"-master.port.grpc={p['master.grpc']}",
                "-master.telemetry=false", "-master.volumeSizeLimitMB=64",
                f"-volume.port={p['volume']}", f"-volume.port.grpc={p['volume.grpc']}", "-volume.max=100",
                "-volume.preStopSeconds=0",
                "-filer", f"-filer.port={p['filer']}", f"-filer.port.grpc={p['filer.grpc']}",
                f"-filer.localSocket={d / 'filer.sock'}",
                "-s3", f"-s3.port={p['s3']}", f"-s3.port.grpc={p['s3.grpc']}", "-s3.port.iceberg=0",
                "-s3.port.lance=0", f"-s3.config={config}", f"-s3.localSocket={d / 's3.sock'}",
                "-s3.autoCreateBucket=false"]

    def _launch(self) -> None:
        env = {"PATH": "/usr/bin:/bin", "HOME": str(self.folder), "TMPDIR": str(self.folder), "LANG": "C.UTF-8"}
        with open(self.log, "wb") as log:
            # a session of its own: stop() signals the whole group
            self.process = subprocess.Popen(self.command(), cwd=self.folder, env=env, stdin=subprocess.DEVNULL,
                                            stdout=log, stderr=subprocess.STDOUT, start_new_session=True)

    def _wait_ready(self) -> None:
        """Until a signed ListBuckets answers 200 and a probe object can be written and deleted (the gateway
        listens before the volume server has joined the master): at most START_SECONDS, one try a second."""
        deadline = time.monotonic() + START_SECONDS
        last = "no answer yet"
        for _ in range(START_SECONDS * 2):
            if self.process.poll() is not None:
                raise S3Error(f"weed exited with {self.process.returncode}:\n{self.log_tail()}")
            if time.monotonic() > deadline:
                break
            try:
                if self.request("GET", "").status == 200:
                    probe = "sitekit-probe"
                    if probe not in self.buckets:
                        self.create_bucket(probe)
                    put = self.request("PUT", probe, "ready", body=b"ok")
                    if put.status == 200:
                        self.request("DELETE", probe, "ready")
                        return
                    last = f"probe write: {put.status} {put.body[:300]!r}"
            except (OSError, http.client.HTTPException, S3Error) as error:
                last = repr(error)
            time.sleep(1)
        raise S3Error(f"the S3 gateway on {self.endpoint} was not ready in {START_SECONDS} s ({last}):\n"
                      f"{self.log_tail()}")

    def stop(self) -> None:
        """SIGTERM to the server's process group, then SIGKILL after 30 s."""
        if self.process is None or self.process.poll() is not None:
            return
        try:
            os.killpg(self.process.pid, signal.SIGTERM)
            self.process.wait(timeout=30)
        except subprocess.TimeoutExpired:
            os.killpg(self.process.pid, signal.SIGKILL)
            self.process.wait(timeout=30)
        except ProcessLookupError:
            pass

    def log_tail(self, chars: int = 4000) -> str:
        return self.log.read_text(errors="replace")[-chars:] if self.log.exists() else ""

    # ---------------------------------------------------------------------------------------- S3, signed
    def request(self, method: str, bucket: str, key: str = "", query: dict[str, str] | None = None,
                body: bytes = b"", secret_key: str | None = None) -> Response:
        """One path-style request signed with AWS Signature V4 (`secret_key` to sign with another secret)."""
        path = "/" + "/".join(quote(part, safe="-_.~") for part in [bucket, *key.split("/")] if part)
        query = query or {}
        canonical_query = "&".join(f"{quote(k, safe='-_.~')}={quote(v, safe='-_.~')}"
                                   for k, v in sorted(query.items()))
        now = dt.datetime.now(dt.timezone.utc)
        amz_date, day = now.strftime("%Y%m%dT%H%M%SZ"), now.strftime("%Y%m%d")
        payload = hashlib.sha256(body).hexdigest()
        headers = {"host": self.endpoint, "x-amz-content-sha256": payload, "x-amz-date": amz_date}
        signed = ";".join(sorted(headers))
        canonical = "\n".join([method, path, canonical_query,
                               "".join(f"{k}:{headers[k]}\n" for k in sorted(headers)), signed, payload])
        scope = f"{day}/{REGION}/s3/aws4_request"
        to_sign = "\n".join(["AWS4-HMAC-SHA256", amz_date, scope, hashlib.sha256(canonical.encode()).hexdigest()])
        key_bytes = ("AWS4" + (secret_key or self.secret_key)).encode()
        for part in (day, REGION, "s3", "aws4_request"):
            key_bytes = hmac.new(key_bytes, part.encode(), hashlib.sha256).digest()
        signature = hmac.new(key_bytes, to_sign.encode(), hashlib.sha256).hexdigest()
        headers["Authorization"] = (f"AWS4-HMAC-SHA256 Credential={self.access_key}/{scope}, "
                                    f"SignedHeaders={signed}, Signature={signature}")
        connection = http.client.HTTPConnection("127.0.0.1", self.ports["s3"], timeout=REQUEST_SECONDS)
        try:
            connection.request(method, path + (f"?{canonical_query}" if canonical_query else ""),
                               body=body or None, headers=headers)
            answer = connection.getresponse()
            return Response(answer.status, {k.lower(): v for k, v in answer.getheaders()}, answer.read())
        finally:
            connection.close()

    def create_bucket(self, bucket: str) -> None:
        done = self.request("PUT", bucket)
        if done.status != 200:
            raise S3Error(f"creating bucket {bucket}: {done.status} {done.body[:500]!r}")
        self.buckets.append(bucket)

    def list_objects(self, bucket: str, prefix: str = "", max_pages: int = 100) -> list[str]:
        """Every key under `prefix` (ListObjectsV2, at most `max_pages` pages of 1,000)."""
        keys: list[str] = []
        token = None
        for _ in range(max_pages):
            query = {"list-type": "2", "prefix": prefix}
            if token:
                query["continuation-token"] = token
            done = self.request("GET", bucket, query=query)
            if done.status != 200:
                raise S3Error(f"listing {bucket}/{prefix}: {done.status} {done.body[:500]!r}")
            page = ET.fromstring(done.body)
            keys += [e.text or "" for e in page.iter(f"{S3_NS}Key")]
            if page.findtext(f"{S3_NS}IsTruncated") != "true":
                return keys
            token = page.findtext(f"{S3_NS}NextContinuationToken")
        raise S3Error(f"listing {bucket}/{prefix}: more than {max_pages} pages")

    def get_object(self, bucket: str, key: str) -> bytes:
        done = self.request("GET", bucket, key)
        if done.status != 200:
            raise S3Error(f"reading {bucket}/{key}: {done.status} {done.body[:500]!r}")
        return done.body

    # ---------------------------------------------------------------------------------------- Pulumi
    def backend(self, bucket: str) -> S3Backend:
        """A new bucket, as the `pulumi login` URL of Pulumi's DIY backend and the environment it reads."""
        self.create_bucket(bucket)
        url = (f"s3://{bucket}?endpoint={self.endpoint}&disableSSL=true&s3ForcePathStyle=true"
               f"&region={REGION}")
        env = {"AWS_ACCESS_KEY_ID": self.access_key, "AWS_SECRET_ACCESS_KEY": self.secret_key,
               "AWS_REGION": REGION, "AWS_EC2_METADATA_DISABLED": "true"}
        return S3Backend(self, bucket, url, env)
