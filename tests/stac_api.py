"""Start a real STAC API on 127.0.0.1 for tests: stac-fastapi-pgstac on a throwaway PostgreSQL.

:func:`running_stac_api` makes a temporary PostgreSQL cluster (``initdb`` + ``pg_ctl``, as the
``postgres`` user via ``runuser`` when the tests run as root, since PostgreSQL refuses to run
as root), installs pgstac into it (``pypgstac migrate``), loads collections and items
(``pypgstac load collections|items --method upsert``, here through pypgstac's Python API) and
serves them with ``uvicorn stac_fastapi.pgstac.app:create_app --factory`` on a free port.
Everything is removed on exit. It needs Debian's ``postgresql-15`` and
``postgresql-15-postgis-3`` (any PostgreSQL with PostGIS found under ``/usr/lib/postgresql``
works); :func:`missing_reason` says what is absent so a fixture can skip, unless
``EOINSTRUCT_REQUIRE_STAC_API=1`` (CI) makes that a failure.
"""

from __future__ import annotations

import contextlib
import json
import os
import pwd
import shutil
import socket
import subprocess
import sys
import tempfile
import time
import urllib.error
import urllib.request
from collections.abc import Iterable, Iterator, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

REQUIRE_ENV = "EOINSTRUCT_REQUIRE_STAC_API"
"""Set to 1 to make a missing PostgreSQL/PostGIS a test failure instead of a skip."""

PG_ROOT = Path("/usr/lib/postgresql")
INSTALL_HINT = (
    "apt-get install -y postgresql-15 postgresql-15-postgis-3 "
    "(Debian 12; the STAC API tests need initdb, pg_ctl and the postgis extension)"
)


def postgres_bindir() -> Path | None:
    """Return the newest ``/usr/lib/postgresql/<v>/bin`` that has initdb and pg_ctl."""
    if not PG_ROOT.is_dir():
        return None
    candidates = sorted(
        (p for p in PG_ROOT.iterdir() if p.name.isdigit()), key=lambda p: int(p.name)
    )
    for version in reversed(candidates):
        bindir = version / "bin"
        if (bindir / "initdb").is_file() and (bindir / "pg_ctl").is_file():
            return bindir
    return None


def _sharedir(bindir: Path) -> Path:
    pg_config = bindir / "pg_config"
    if pg_config.is_file():
        out = subprocess.run(
            [str(pg_config), "--sharedir"], capture_output=True, text=True, check=False
        )
        if out.returncode == 0 and out.stdout.strip():
            return Path(out.stdout.strip())
    return Path("/usr/share/postgresql") / bindir.parent.name


def missing_reason() -> str | None:
    """Say why the API cannot be started here (None when it can)."""
    bindir = postgres_bindir()
    if bindir is None:
        return f"no PostgreSQL server binaries under {PG_ROOT}; {INSTALL_HINT}"
    if not (_sharedir(bindir) / "extension" / "postgis.control").is_file():
        return f"PostgreSQL {bindir.parent.name} has no postgis extension; {INSTALL_HINT}"
    if os.geteuid() == 0:
        if shutil.which("runuser") is None:
            return "running as root but runuser is missing (util-linux)"
        try:
            pwd.getpwnam("postgres")
        except KeyError:
            return "running as root but there is no postgres user to run the server"
    return None


def _free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@dataclass
class StacApi:
    """A running STAC API.

    Attributes:
        url: Its root URL (``http://127.0.0.1:<port>``).
        log_path: uvicorn's log (one access line per request).
        setup_s: Seconds from start to the first answered request.
        timings: Seconds per setup step.
    """

    url: str
    log_path: Path
    setup_s: float
    timings: dict[str, float]

    def request_count(self, method: str, path: str) -> int:
        """Count the requests ``<method> <path>`` uvicorn has logged so far."""
        text = self.log_path.read_text(encoding="utf-8", errors="replace")
        needle = f'"{method} {path}'
        return sum(1 for line in text.splitlines() if needle in line)


def _as_postgres(cmd: list[str]) -> list[str]:
    return ["runuser", "-u", "postgres", "--", *cmd] if os.geteuid() == 0 else cmd


def _wait_http(url: str, proc: subprocess.Popen[bytes], timeout_s: float, log: Path) -> None:
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise RuntimeError(f"uvicorn exited ({proc.returncode}):\n{log.read_text()[-3000:]}")
        try:
            with urllib.request.urlopen(url, timeout=2) as response:
                if response.status == 200:
                    return
        except (urllib.error.URLError, ConnectionError, TimeoutError):
            time.sleep(0.1)
    raise RuntimeError(f"{url} did not answer in {timeout_s} s:\n{log.read_text()[-3000:]}")


@contextlib.contextmanager
def running_stac_api(
    collections: Iterable[Mapping[str, Any]],
    items: Iterable[Mapping[str, Any]],
    startup_timeout_s: float = 60.0,
) -> Iterator[StacApi]:
    """Run stac-fastapi-pgstac on a temporary PostgreSQL cluster, loaded with the given data.

    Args:
        collections: STAC collections (dicts).
        items: STAC items (dicts) of those collections.
        startup_timeout_s: How long to wait for the server.

    Yields:
        The running API; the server and the cluster are stopped and deleted on exit.

    Raises:
        RuntimeError: If PostgreSQL or the API cannot be started (see :func:`missing_reason`).
    """
    reason = missing_reason()
    if reason is not None:
        raise RuntimeError(reason)
    bindir = postgres_bindir()
    assert bindir is not None
    started = time.monotonic()
    timings: dict[str, float] = {}
    # A short path: the Unix socket path must stay under 107 bytes.
    workdir = Path(tempfile.mkdtemp(prefix="eoi-pg-", dir="/tmp"))
    data_dir, log = workdir / "data", workdir / "uvicorn.log"
    pg_log = workdir / "postgres.log"
    if os.geteuid() == 0:
        pw = pwd.getpwnam("postgres")
        os.chown(workdir, pw.pw_uid, pw.pw_gid)
    os.chmod(workdir, 0o755)
    port = _free_port()
    env = {
        **os.environ,
        "PGHOST": "127.0.0.1",
        "PGPORT": str(port),
        "PGUSER": "postgres",
        "PGPASSWORD": "postgres",
        "PGDATABASE": "postgres",
    }
    server: subprocess.Popen[bytes] | None = None
    pg_started = False
    try:
        subprocess.run(
            _as_postgres(
                [
                    str(bindir / "initdb"),
                    "-D",
                    str(data_dir),
                    "-U",
                    "postgres",
                    "--auth=trust",
                    "-E",
                    "UTF8",
                    "--locale=C.UTF-8",
                    "--no-sync",
                ]
            ),
            check=True,
            capture_output=True,
        )
        timings["initdb"] = time.monotonic() - started
        options = (
            f"-p {port} -k {workdir} -c listen_addresses=127.0.0.1 -c fsync=off "
            "-c synchronous_commit=off -c full_page_writes=off"
        )
        subprocess.run(
            _as_postgres(
                [
                    str(bindir / "pg_ctl"),
                    *("-D", str(data_dir), "-o", options),
                    *("-l", str(pg_log), "-w", "-t", "60", "start"),
                ]
            ),
            check=True,
            capture_output=True,
        )
        pg_started = True
        timings["postgres_start"] = time.monotonic() - started

        from pypgstac.db import PgstacDB
        from pypgstac.load import Loader, Methods
        from pypgstac.migrate import Migrate

        dsn = f"postgresql://postgres:postgres@127.0.0.1:{port}/postgres"
        with PgstacDB(dsn=dsn) as db:
            Migrate(db).run_migration()
            timings["pgstac_migrate"] = time.monotonic() - started
            loader = Loader(db)
            loader.load_collections(iter([dict(c) for c in collections]), Methods.upsert)
            loader.load_items(iter([json.loads(json.dumps(i)) for i in items]), Methods.upsert)
        timings["pgstac_load"] = time.monotonic() - started

        api_port = _free_port()
        with log.open("wb") as out:
            server = subprocess.Popen(
                [
                    sys.executable,
                    "-m",
                    "uvicorn",
                    "stac_fastapi.pgstac.app:create_app",
                    "--factory",
                    "--host",
                    "127.0.0.1",
                    "--port",
                    str(api_port),
                ],
                env=env,
                stdout=out,
                stderr=subprocess.STDOUT,
                cwd=workdir,
            )
        url = f"http://127.0.0.1:{api_port}"
        _wait_http(url + "/", server, startup_timeout_s, log)
        timings["api_ready"] = time.monotonic() - started
        yield StacApi(url=url, log_path=log, setup_s=time.monotonic() - started, timings=timings)
    except subprocess.CalledProcessError as exc:
        detail = (exc.stderr or b"").decode(errors="replace")[-2000:]
        tail = pg_log.read_text(errors="replace")[-2000:] if pg_log.is_file() else ""
        raise RuntimeError(f"{exc.cmd[0:4]} failed: {detail}\n{tail}") from exc
    finally:
        if server is not None:
            server.terminate()
            try:
                server.wait(timeout=10)
            except subprocess.TimeoutExpired:
                server.kill()
                server.wait(timeout=10)
        if pg_started:
            subprocess.run(
                _as_postgres(
                    [str(bindir / "pg_ctl"), "-D", str(data_dir), "-m", "immediate", "stop"]
                ),
                check=False,
                capture_output=True,
            )
        shutil.rmtree(workdir, ignore_errors=True)
