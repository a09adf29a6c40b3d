"""Start the sandbox as a separate process and talk to it over HTTP only.

The product never imports ``sandbox``: it launches ``python -m sandbox serve`` and reads the base
URLs and credentials from the ready file, exactly as it would read a real connections file.
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any


class EmbeddedSandbox:
    def __init__(
        self,
        seed: int = 42,
        as_of: str | None = None,
        scenario: Path | None = None,
        extra_args: list[str] | None = None,
        startup_timeout_s: float = 120.0,
    ) -> None:
        self.args = ["--seed", str(seed), "--port", "0", "--quiet"]
        if as_of:
            self.args += ["--as-of", as_of]
        if scenario:
            self.args += ["--scenario", str(scenario)]
        self.args += extra_args or []
        self.startup_timeout_s = startup_timeout_s
        self.proc: subprocess.Popen[bytes] | None = None
        self.info: dict[str, Any] = {}
        self._tmp = tempfile.TemporaryDirectory(prefix="shoptok-sandbox-")

    @property
    def base_url(self) -> str:
        return self.info["base_url"]

    @property
    def connections(self) -> list[dict[str, Any]]:
        return self.info["connections"]

    def start(self) -> EmbeddedSandbox:
        ready = Path(self._tmp.name) / "ready.json"
        cmd = [sys.executable, "-m", "sandbox", "serve", *self.args, "--ready-file", str(ready)]
        self.proc = subprocess.Popen(cmd, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, env={**os.environ})
        deadline = time.monotonic() + self.startup_timeout_s
        while not ready.exists():
            if self.proc.poll() is not None:
                err = self.proc.stderr.read().decode(errors="replace") if self.proc.stderr else ""
                raise RuntimeError(
                    f"sandbox exited with code {self.proc.returncode} before it was ready:\n{err[-4000:]}"
                )
            if time.monotonic() > deadline:
                self.stop()
                raise TimeoutError(f"sandbox not ready after {self.startup_timeout_s:.0f} s")
            time.sleep(0.05)
        self.info = json.loads(ready.read_text())
        return self

    def stop(self) -> None:
        if self.proc and self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
            try:
                self.proc.wait(timeout=10)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
        self._tmp.cleanup()

    def __enter__(self) -> EmbeddedSandbox:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()
