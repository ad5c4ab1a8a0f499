"""`messpunkt-sandbox` as a real process on a free loopback port, stopped by the test."""

from __future__ import annotations

import http.client
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

from redis_server import free_port

ADMIN_KEY = "live-admin-key"


def signing_key(directory: Path) -> str:
    """Write a fresh P-256 key as PEM, as a hosted sandbox needs one shared by its workers."""
    from cryptography.hazmat.primitives import serialization
    from cryptography.hazmat.primitives.asymmetric import ec

    path = directory / "signing.pem"
    key = ec.generate_private_key(ec.SECP256R1())
    path.write_bytes(
        key.private_bytes(
            serialization.Encoding.PEM,
            serialization.PrivateFormat.PKCS8,
            serialization.NoEncryption(),
        )
    )
    return str(path)


def hosted(store_url: str, directory: Path, workers: int = 2) -> dict[str, str]:
    """The settings of gunicorn mode: workers on one store, with the secrets they share."""
    return {
        "MESSPUNKT_WORKERS": str(workers),
        "MESSPUNKT_STORE_URL": store_url,
        "MESSPUNKT_SIGNING_KEY": signing_key(directory),
        "MESSPUNKT_SECRET_KEY": "a-shared-cursor-secret",
    }


class LiveSandbox:
    """The command, started with `settings` (MESSPUNKT_* variables) in `directory`."""

    def __init__(self, directory: Path, **settings: str) -> None:
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self.admin_key = ADMIN_KEY
        self.stdout, self.stderr = directory / "stdout", directory / "stderr"
        clean = {k: v for k, v in os.environ.items() if not k.startswith("MESSPUNKT_")}
        environ = {
            **clean,
            "MESSPUNKT_HOST": "127.0.0.1",
            "MESSPUNKT_PORT": str(self.port),
            "MESSPUNKT_ISSUER": self.url,
            "MESSPUNKT_SANDBOX_ADMIN_KEY": ADMIN_KEY,
            **settings,
        }
        with self.stdout.open("wb") as stdout, self.stderr.open("wb") as stderr:
            self.process = subprocess.Popen(
                [sys.executable, "-m", "messpunkt"], env=environ, cwd=directory,
                stdout=stdout, stderr=stderr,
            )  # fmt: skip
        self._wait_until_answering()

    def _wait_until_answering(self) -> None:
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline:
            assert self.process.poll() is None, self.stderr.read_text()
            try:
                if self.get("/.well-known/jwks.json")[0] == 200:
                    return
            except OSError:
                time.sleep(0.05)
        self.stop()
        raise AssertionError("the sandbox did not answer within 30 s")

    def get(self, path: str, timeout: float = 5) -> tuple[int, bytes]:
        """GET `path` on a fresh connection, within `timeout` seconds for each step."""
        connection = http.client.HTTPConnection("127.0.0.1", self.port, timeout=timeout)
        try:
            connection.request("GET", path)
            response = connection.getresponse()
            return response.status, response.read()
        finally:
            connection.close()

    def stop(self) -> None:
        """Stop the server (SIGTERM, as an operator would) and wait until it has exited."""
        if self.process.poll() is None:
            self.process.send_signal(signal.SIGTERM)
            try:
                self.process.wait(timeout=15)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait(timeout=5)

    def log(self) -> str:
        return self.stderr.read_text(encoding="utf-8", errors="replace")
