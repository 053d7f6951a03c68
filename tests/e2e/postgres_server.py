"""A throwaway PostgreSQL server for the end-to-end tests: its own data folder, 127.0.0.1 and a free port only.

The server binaries come from PATH or Debian's versioned folder (``/usr/lib/postgresql/<major>/bin``);
``scripts/install-postgres.sh`` (run by ``.ci/run``) installs them when they are missing. ``initdb`` and
``postgres`` refuse to run as root, so under root they run as the ``postgres`` user (which the package creates).
The server runs in its own process group, without a Unix socket, with a random password for its one role, and
:meth:`PostgresServer.stop` always ends it (fast shutdown, then SIGKILL) and deletes its data folder.
"""

from __future__ import annotations

import contextlib
import glob
import os
import pwd
import secrets
import shutil
import signal
import subprocess
import tempfile
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import psutil
from process_groups import StackError, free_port, wait_for

INSTALL_HINT = (
    "PostgreSQL server binaries (initdb, postgres) not found on PATH or under /usr/lib/postgresql/*/bin: "
    "run scripts/install-postgres.sh (CI's .ci/run does), or install your distribution's postgresql package"
)
ROLE = "airflow"
DATABASE = "airflow"


def server_bin_dir() -> Path:
    """Return the folder holding ``initdb`` and ``postgres``; raise StackError naming the fix if there is none."""
    candidates = []
    on_path = shutil.which("initdb")
    if on_path:
        candidates.append(Path(on_path).resolve().parent)
    # Debian/Ubuntu keep the server binaries out of PATH; the newest major first.
    versioned = glob.glob("/usr/lib/postgresql/*/bin")
    candidates += sorted((Path(p) for p in versioned), key=lambda p: _major(p.parent.name), reverse=True)
    for folder in candidates:
        if (folder / "initdb").is_file() and (folder / "postgres").is_file():
            return folder
    raise StackError(INSTALL_HINT)


def _major(name: str) -> int:
    return int(name) if name.isdigit() else -1


def _server_user() -> pwd.struct_passwd | None:
    """Return the user the server must run as (``postgres`` under root), or None to run as ourselves."""
    if os.geteuid() != 0:
        return None
    try:
        return pwd.getpwnam("postgres")
    except KeyError:
        raise StackError(
            "running as root, and initdb refuses root: create a 'postgres' user (the postgresql package does)"
        ) from None


@dataclass
class PostgresServer:
    """One PostgreSQL server with one role and one database for Airflow's metadata.

    :param log_path: the file the server's output goes to (created by us, so any user may own the server).
    """

    log_path: Path
    port: int = field(default_factory=free_port)
    password: str = field(default_factory=lambda: secrets.token_urlsafe(24))
    proc: subprocess.Popen[bytes] | None = None

    def __post_init__(self) -> None:
        self.bin_dir = server_bin_dir()
        self.user = _server_user()
        # Not under pytest's temp folder: it is private to root (0700), which the postgres user cannot enter.
        self.base = Path(tempfile.mkdtemp(prefix="airflow-glue-runs-pg-"))
        self.data_dir = self.base / "data"

    @property
    def url(self) -> str:
        """Return the SQLAlchemy URL of the Airflow database (psycopg2 driver; Airflow derives asyncpg's)."""
        return f"postgresql+psycopg2://{ROLE}:{self.password}@127.0.0.1:{self.port}/{DATABASE}"

    def _run_as_server_user(self) -> dict[str, Any]:
        if self.user is None:
            return {}
        return {"user": self.user.pw_uid, "group": self.user.pw_gid, "extra_groups": []}

    def start(self, *, timeout: float = 60) -> PostgresServer:
        """Create the cluster, start the server on 127.0.0.1:port, wait until it answers, create the database."""
        password_file = self.base / "password"
        password_file.write_text(self.password)
        password_file.chmod(0o600)
        if self.user is not None:
            for path in (self.base, password_file):
                os.chown(path, self.user.pw_uid, self.user.pw_gid)
        as_user = self._run_as_server_user()
        initdb = [
            str(self.bin_dir / "initdb"),
            *("-D", str(self.data_dir), "-U", ROLE, f"--pwfile={password_file}"),
            *("--auth-host=scram-sha-256", "--auth-local=scram-sha-256", "-E", "UTF8", "--locale=C", "--no-sync"),
        ]
        with self.log_path.open("ab") as log:
            done = subprocess.run(initdb, stdout=log, stderr=subprocess.STDOUT, cwd=self.base, check=False, **as_user)
        if done.returncode != 0:
            raise StackError(f"initdb exited {done.returncode}; see {self.log_path}")
        settings = {
            "listen_addresses": "127.0.0.1",
            "port": str(self.port),
            "unix_socket_directories": "",  # TCP on 127.0.0.1 only
            "max_connections": "200",  # every Airflow process keeps a pool
            "shared_buffers": "32MB",
            # A throwaway database: durability buys nothing and costs time on a busy machine.
            "fsync": "off",
            "synchronous_commit": "off",
            "full_page_writes": "off",
        }
        argv = [str(self.bin_dir / "postgres"), "-D", str(self.data_dir)]
        for name, value in settings.items():
            argv += ["-c", f"{name}={value}"]
        with self.log_path.open("ab") as log:
            self.proc = subprocess.Popen(
                argv,
                stdout=log,
                stderr=subprocess.STDOUT,
                stdin=subprocess.DEVNULL,
                cwd=self.base,
                start_new_session=True,
                **as_user,
            )
        wait_for(
            self._accepts_connections, timeout=timeout, what="PostgreSQL to accept connections", describe=self.log_tail
        )
        with contextlib.closing(self.connect("postgres")) as conn:
            conn.autocommit = True
            with conn.cursor() as cursor:
                cursor.execute(f"CREATE DATABASE {DATABASE}")
        return self

    def connect(self, database: str = DATABASE) -> Any:
        """Return a new psycopg2 connection to ``database`` as the server's role."""
        import psycopg2

        return psycopg2.connect(
            host="127.0.0.1", port=self.port, user=ROLE, password=self.password, dbname=database, connect_timeout=5
        )

    def _accepts_connections(self) -> bool:
        import psycopg2

        if self.proc is None or self.proc.poll() is not None:
            raise StackError(f"postgres exited with {self.proc and self.proc.returncode}:\n{self.log_tail()}")
        try:
            self.connect("postgres").close()
        except psycopg2.OperationalError:
            return False
        return True

    def listening_addresses(self) -> set[tuple[str, int]]:
        """Return the TCP addresses the server (postmaster and children) listens on."""
        found: set[tuple[str, int]] = set()
        if self.proc is None:
            return found
        main = psutil.Process(self.proc.pid)
        for proc in [main, *main.children(recursive=True)]:
            with contextlib.suppress(psutil.Error):
                for conn in proc.net_connections(kind="tcp"):
                    if conn.status == psutil.CONN_LISTEN:
                        found.add((conn.laddr.ip, conn.laddr.port))
        return found

    def log_tail(self, lines: int = 40) -> str:
        """Return the last ``lines`` lines of the server's log."""
        text = self.log_path.read_text(errors="replace") if self.log_path.exists() else "(no log)"
        return "\n".join(text.splitlines()[-lines:])

    def stop(self, *, grace: float = 30) -> None:
        """Stop the server (fast shutdown, SIGKILL to its group after ``grace`` s) and delete its data; idempotent."""
        if self.proc is not None:
            if self.proc.poll() is None:
                with contextlib.suppress(ProcessLookupError):
                    self.proc.send_signal(signal.SIGINT)  # postgres: "fast" shutdown, clients disconnected
                with contextlib.suppress(subprocess.TimeoutExpired):
                    self.proc.wait(timeout=grace)
            with contextlib.suppress(ProcessLookupError, PermissionError):
                os.killpg(self.proc.pid, signal.SIGKILL)  # leftovers of the group, if any
            self.proc.wait(timeout=grace)
        shutil.rmtree(self.base, ignore_errors=True)
