"""A throwaway PostgreSQL cluster on 127.0.0.1 (random free port) in a temporary folder.

The server binaries come from Debian's ``postgresql`` package (``/usr/lib/postgresql/<major>/bin``;
``.ci/run`` installs it when missing). ``initdb`` refuses to run as root, so as root the data folder
is handed to the ``postgres`` user and ``initdb``/``pg_ctl`` run through ``runuser -u postgres --``.
Durability is switched off (``fsync``, ``synchronous_commit``): the cluster lives for one test session.
"""

from __future__ import annotations

import glob
import os
import secrets
import shutil
import socket
import subprocess
import tempfile
from dataclasses import dataclass, field
from pathlib import Path

#: the major version CI installs and the docs name; another installed major is used when it is missing
PREFERRED_MAJOR = "15"


class PostgresUnavailable(RuntimeError):
    """The server binaries are not installed (``apt-get install postgresql``)."""


def find_bindir() -> Path:
    """The folder holding ``initdb``/``pg_ctl``/``postgres``: SHOPTOK_PG_BINDIR, else the newest Debian install."""
    override = os.environ.get("SHOPTOK_PG_BINDIR")
    candidates = [override] if override else []
    found = sorted(glob.glob("/usr/lib/postgresql/*/bin"), key=lambda p: int(Path(p).parent.name))
    preferred = [p for p in found if Path(p).parent.name == PREFERRED_MAJOR]
    candidates += preferred + found[::-1]
    for c in candidates:
        if c and all((Path(c) / tool).exists() for tool in ("initdb", "pg_ctl", "postgres")):
            return Path(c)
    raise PostgresUnavailable(
        "PostgreSQL server binaries not found in /usr/lib/postgresql/*/bin (or SHOPTOK_PG_BINDIR): "
        "install them with `apt-get install postgresql` (.ci/run does this on CI)"
    )


def free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@dataclass
class PgCluster:
    bindir: Path = field(default_factory=find_bindir)
    database: str = "shoptok"
    user: str = "shoptok"
    password: str = field(default_factory=lambda: secrets.token_urlsafe(18), repr=False)
    host: str = "127.0.0.1"
    port: int = 0
    root: Path | None = None

    @property
    def as_root(self) -> bool:
        return os.geteuid() == 0

    def _run(self, *args: str) -> subprocess.CompletedProcess:
        cmd = list(args)
        if self.as_root:
            cmd = ["runuser", "-u", "postgres", "--", *cmd]
        proc = subprocess.run(cmd, capture_output=True, text=True, check=False, timeout=120)
        if proc.returncode != 0:
            log = self.root / "server.log" if self.root else None
            tail = log.read_text()[-3000:] if log and log.exists() else ""
            raise RuntimeError(f"{' '.join(args[:2])} failed ({proc.returncode}): {proc.stderr[-2000:]}\n{tail}")
        return proc

    def start(self) -> PgCluster:
        # as root the server runs as `postgres`, which must reach the folder: /tmp, not a private TMPDIR
        self.root = Path(tempfile.mkdtemp(prefix="shoptok-pg-", dir="/tmp" if self.as_root else None))
        data = self.root / "data"
        pwfile = self.root / "pwfile"
        pwfile.write_text(self.password + "\n")
        if self.as_root:
            shutil.chown(self.root, "postgres", "postgres")
            shutil.chown(pwfile, "postgres", "postgres")
        pwfile.chmod(0o600)
        self._run(
            str(self.bindir / "initdb"),
            "-D",
            str(data),
            "-U",
            self.user,
            "--pwfile",
            str(pwfile),
            "--auth",
            "scram-sha-256",
            "-E",
            "UTF8",
            "--locale",
            "C",
        )
        pwfile.unlink()
        self.port = self.port or free_port()
        options = (
            f"-h {self.host} -p {self.port} -k {self.root} -c fsync=off -c synchronous_commit=off "
            "-c full_page_writes=off -c max_connections=50 -c timezone=UTC"
        )
        self._run(str(self.bindir / "pg_ctl"), "-D", str(data), "-l", str(self.root / "server.log"), "-o", options,
                  "-w", "-t", "60", "start")  # fmt: skip
        import psycopg2

        con = psycopg2.connect(**self.connect_kwargs("postgres"))
        try:
            con.autocommit = True
            with con.cursor() as cur:
                cur.execute(f'create database "{self.database}"')
        finally:
            con.close()
        return self

    def connect_kwargs(self, database: str | None = None) -> dict[str, object]:
        return {
            "host": self.host,
            "port": self.port,
            "dbname": database or self.database,
            "user": self.user,
            "password": self.password,
        }

    def env(self) -> dict[str, str]:
        """The settings module's variables that point the whole pipeline at this cluster."""
        return {
            "SHOPTOK_WAREHOUSE_ENGINE": "postgres",
            "SHOPTOK_PG_HOST": self.host,
            "SHOPTOK_PG_PORT": str(self.port),
            "SHOPTOK_PG_DATABASE": self.database,
            "SHOPTOK_PG_USER": self.user,
            "SHOPTOK_PG_PASSWORD": self.password,
        }

    def stop(self) -> None:
        if self.root is None:
            return
        data = self.root / "data"
        try:
            if (data / "postmaster.pid").exists():
                self._run(str(self.bindir / "pg_ctl"), "-D", str(data), "-m", "fast", "-w", "stop")
        finally:
            shutil.rmtree(self.root, ignore_errors=True)
            self.root = None

    def __enter__(self) -> PgCluster:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()
