"""A real Airflow stack for end-to-end tests: api-server, scheduler, dag-processor and triggerer(s).

The metadata database is SQLite in the stack's home unless a database URL is given (PostgreSQL: see
``postgres_server.py``); one triggerer unless more are named. Every process binds 127.0.0.1 only (the api-server
on a free port; scheduler and triggerers run with ``-s`` so no log server listens), runs in its own process group
and is stopped by :meth:`AirflowStack.stop` (SIGTERM to the group, SIGKILL after a grace period). Tests talk to the
stack through the REST API (``/api/v2``; the simple auth manager lets everyone in as admin) and the ``airflow``
CLI, and wait with :func:`process_groups.wait_for`: bounded polling of an observable condition.
"""

from __future__ import annotations

import contextlib
import json
import os
import secrets
import shutil
import signal
import subprocess
import sys
import urllib.error
import urllib.parse
import urllib.request
from collections.abc import Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any

from process_groups import Service, StackError, free_port, listening_addresses, stop_process_groups, wait_for

if TYPE_CHECKING:
    from airflow_glue_runs.local_glue import LocalGlue

__all__ = ["E2E_DAGS", "ROOT", "AirflowStack", "StackError", "running_stack", "wait_for"]

ROOT = Path(__file__).resolve().parents[2]
E2E_DAGS = Path(__file__).resolve().parent / "dags"
BIN = Path(sys.executable).parent
AIRFLOW = str(BIN / "airflow")
FINAL_DAG_RUN_STATES = frozenset({"success", "failed"})
FINAL_TI_STATES = frozenset({"success", "failed", "skipped", "upstream_failed", "removed"})
CORE_SERVICES = ("api-server", "scheduler", "dag-processor")


@dataclass
class AirflowStack:
    """An Airflow 3 stack in a private ``AIRFLOW_HOME`` with the LocalExecutor.

    :param home: the AIRFLOW_HOME (created; holds the SQLite DB if any, logs and one log file per process).
    :param dags_folder: the DAGs folder the dag-processor parses.
    :param extra_env: more environment for every Airflow process, e.g. ``AIRFLOW_CONN_AWS_DEFAULT``.
    :param database_url: the metadata database's SQLAlchemy URL (None: SQLite in ``home``).
    :param triggerers: one entry per triggerer process: its service name and extra ``airflow triggerer``
        arguments (e.g. ``["--capacity", "6"]``).
    """

    home: Path
    dags_folder: Path
    extra_env: Mapping[str, str] = field(default_factory=dict)
    database_url: str | None = None
    triggerers: Mapping[str, Sequence[str]] = field(default_factory=lambda: {"triggerer": ()})
    port: int = field(default_factory=free_port)
    services: dict[str, Service] = field(default_factory=dict)

    @property
    def base_url(self) -> str:
        """Return the api-server's ``http://127.0.0.1:PORT``."""
        return f"http://127.0.0.1:{self.port}"

    def __post_init__(self) -> None:
        self.home.mkdir(parents=True, exist_ok=True)
        (self.home / "proc-logs").mkdir(exist_ok=True)
        # Inherit nothing Airflow-related from the test process (a test may have set a connection or a home).
        base = {k: v for k, v in os.environ.items() if not k.startswith("AIRFLOW")}
        self.env: dict[str, str] = {
            **base,
            "AIRFLOW_HOME": str(self.home),
            "AIRFLOW__CORE__DAGS_FOLDER": str(self.dags_folder),
            "AIRFLOW__CORE__LOAD_EXAMPLES": "False",
            "AIRFLOW__CORE__EXECUTOR": "LocalExecutor",
            "AIRFLOW__CORE__PARALLELISM": "4",
            "AIRFLOW__CORE__DAGS_ARE_PAUSED_AT_CREATION": "False",
            "AIRFLOW__CORE__SIMPLE_AUTH_MANAGER_ALL_ADMINS": "True",
            "AIRFLOW__CORE__EXECUTION_API_SERVER_URL": f"{self.base_url}/execution/",
            "AIRFLOW__DATABASE__SQL_ALCHEMY_CONN": self.database_url or f"sqlite:///{self.home / 'airflow.db'}",
            "AIRFLOW__API__HOST": "127.0.0.1",
            "AIRFLOW__API__PORT": str(self.port),
            "AIRFLOW__API__BASE_URL": self.base_url,
            "AIRFLOW__API__WORKERS": "1",
            # Airflow 3.0 refuses ?deserialize=true on XCom entries unless this is on (3.1+ always allows it).
            "AIRFLOW__API__ENABLE_XCOM_DESERIALIZE_SUPPORT": "True",
            # Every process must sign and check the same tokens; a fixed random secret per stack.
            "AIRFLOW__API_AUTH__JWT_SECRET": secrets.token_urlsafe(64),
            "AIRFLOW__API__SECRET_KEY": secrets.token_urlsafe(32),
            "AIRFLOW__WORKERS__MIN_HEARTBEAT_INTERVAL": "1",
            "AIRFLOW__SCHEDULER__SCHEDULER_IDLE_SLEEP_TIME": "0.5",
            "AIRFLOW__SCHEDULER__ENABLE_HEALTH_CHECK": "False",
            # A new triggerer takes over the triggers of a dead one once its heartbeat is this old.
            "AIRFLOW__TRIGGERER__JOB_HEARTBEAT_SEC": "1",
            "AIRFLOW__TRIGGERER__TRIGGERER_HEALTH_CHECK_THRESHOLD": "6",
            "AIRFLOW__DAG_PROCESSOR__REFRESH_INTERVAL": "5",
            "AIRFLOW__DAG_PROCESSOR__PARSING_PROCESSES": "1",
            "AIRFLOW__LOGGING__LOGGING_LEVEL": "INFO",
            "PYTHONUNBUFFERED": "1",
            **self.extra_env,
        }
        logs = self.home / "proc-logs"
        argvs = {
            "api-server": [AIRFLOW, "api-server", "--host", "127.0.0.1", "--port", str(self.port), "--workers", "1"],
            "scheduler": [AIRFLOW, "scheduler", "--skip-serve-logs"],
            "dag-processor": [AIRFLOW, "dag-processor"],
        }
        for name, args in self.triggerers.items():
            argvs[name] = [AIRFLOW, "triggerer", "--skip-serve-logs", *args]
        for name, argv in argvs.items():
            self.services[name] = Service(name, argv, logs / f"{name}.log")

    # ---- processes -------------------------------------------------------------------------------------------

    def cli(self, *args: str, check: bool = True, timeout: float = 120) -> subprocess.CompletedProcess[str]:
        """Run ``airflow ARGS`` with the stack's environment and return the finished process."""
        result = subprocess.run(
            [AIRFLOW, *args], env=self.env, capture_output=True, text=True, timeout=timeout, check=False
        )
        if check and result.returncode != 0:
            raise StackError(f"airflow {' '.join(args)} exited {result.returncode}:\n{result.stdout}\n{result.stderr}")
        return result

    def start(self, *, timeout: float = 120, triggerers: Iterable[str] | None = None) -> AirflowStack:
        """Migrate the DB, start the processes and wait until the API reports them all healthy.

        :param triggerers: the triggerers to start now (default: all); start the others with :meth:`start_service`.
        """
        self.cli("db", "migrate", timeout=300)
        for name in [*CORE_SERVICES, *(self.triggerers if triggerers is None else triggerers)]:
            self.start_service(name)
        self.wait_healthy(timeout=timeout)
        return self

    def start_service(self, name: str, *, env: Mapping[str, str] | None = None) -> Service:
        """Start (or start again) one process in its own process group, appending to its log file.

        :param env: environment of this process only, over the stack's (e.g. one triggerer's
            ``AIRFLOW__GLUE_RUNS__EVENT_QUEUE_URL``); kept for its later starts. None: keep the last one given.
        """
        service = self.services[name]
        if service.running:
            raise StackError(f"{name} is already running")
        if env is not None:
            service.env = dict(env)
        service.generation += 1
        service.killed = False
        with service.log_path.open("ab") as log:
            own = f" (own environment: {', '.join(sorted(service.env))})" if service.env else ""
            log.write(f"\n===== start #{service.generation}: {' '.join(service.argv)}{own}\n".encode())
            log.flush()
            service.proc = subprocess.Popen(
                service.argv,
                env={**self.env, **service.env},
                stdout=log,
                stderr=subprocess.STDOUT,
                stdin=subprocess.DEVNULL,
                start_new_session=True,
            )
        return service

    def kill_service(self, name: str, sig: int = signal.SIGKILL) -> None:
        """Send ``sig`` to a process and all its children at once (SIGKILL: a crash) and reap it."""
        service = self.services[name]
        if service.proc is not None:
            service.killed = True
            stop_process_groups([service.proc], sig=sig)

    def stop(self) -> None:
        """Stop every process (SIGTERM to each group, SIGKILL after a grace period); safe to call twice."""
        stop_process_groups(service.proc for service in self.services.values() if service.proc is not None)

    def wait_healthy(self, *, timeout: float = 120) -> dict[str, Any]:
        """Wait until every started process runs and ``/api/v2/monitor/health`` says each component is healthy.

        A process that exits (one not stopped by :meth:`kill_service`) fails the wait at once.
        """
        last: dict[str, Any] = {}

        def healthy() -> dict[str, Any] | None:
            nonlocal last
            for service in self.services.values():
                if service.proc is not None and not service.killed and not service.running:
                    raise StackError(f"{service.name} exited with {service.proc and service.proc.returncode}")
            try:
                last = self.api("GET", "/api/v2/monitor/health")
            except (OSError, StackError) as error:
                last = {"error": repr(error)}
                return None
            parts = ("metadatabase", "scheduler", "triggerer", "dag_processor")
            ok = all((last.get(p) or {}).get("status") == "healthy" for p in parts)
            return last if ok else None

        return wait_for(healthy, timeout=timeout, what="a healthy stack", describe=lambda: last)

    def alive_triggerer_ids(self) -> set[int]:
        """Return the job ids of the triggerers whose heartbeat is recent."""
        params = {"job_type": "TriggererJob", "is_alive": "true"}
        return {int(job["id"]) for job in self.api("GET", "/api/v2/jobs", params=params)["jobs"]}

    def listening_addresses(self) -> dict[str, set[tuple[str, int]]]:
        """Return the TCP addresses each process of the stack (children included) listens on."""
        return listening_addresses(self.services.values())

    def log_tails(self, lines: int = 60) -> str:
        """Return the last ``lines`` lines of each process's log, for a failed test's report."""
        parts = []
        for service in self.services.values():
            text = service.log_path.read_text(errors="replace") if service.log_path.exists() else "(no log)"
            state = "running" if service.running else f"exited {service.proc and service.proc.returncode}"
            tail = "\n".join(text.splitlines()[-lines:])
            parts.append(f"----- {service.name} ({state}), last {lines} lines of {service.log_path} -----\n{tail}")
        return "\n".join(parts)

    def log_text(self, name: str) -> str:
        """Return the whole log of one process (all its starts)."""
        return self.services[name].log_path.read_text(errors="replace")

    def task_log_text(self, dag_id: str, run_id: str, task_id: str, *, try_number: int, map_index: int = -1) -> str:
        """Return a task try's log files as stored under ``AIRFLOW_HOME/logs``, its triggers' logs included.

        A trigger's log goes to ``attempt=N.log.trigger.<triggerer job id>.log`` next to the task's own log.
        """
        folder = self.home / "logs" / f"dag_id={dag_id}" / f"run_id={run_id}" / f"task_id={task_id}"
        if map_index >= 0:
            folder /= f"map_index={map_index}"
        files = sorted(folder.glob(f"attempt={try_number}.log*"))
        return "\n".join(path.read_text(errors="replace") for path in files)

    def trigger_log_lines(
        self, dag_id: str, run_id: str, task_id: str, *, try_number: int, map_index: int = -1
    ) -> list[str]:
        """Return the lines the triggers of a task try logged, in whichever triggerer ran them.

        A triggerer writes a trigger's lines to the task's trigger log while it holds the trigger and to its own log
        once it has let the trigger go; the two travel on different pipes, so a trigger's last lines (Airflow's
        "Trigger fired event", "Trigger cancelled by user action...") may land in either. Lines of a triggerer's own
        log are picked by the trigger's name, ``dag/run/task/map_index/try_number (ID n)``.
        """
        name = f"{dag_id}/{run_id}/{task_id}/{map_index}/{try_number} (ID "
        folder = self.home / "logs" / f"dag_id={dag_id}" / f"run_id={run_id}" / f"task_id={task_id}"
        if map_index >= 0:
            folder /= f"map_index={map_index}"
        lines = [
            line
            for path in sorted(folder.glob(f"attempt={try_number}.log.trigger.*.log"))
            for line in path.read_text(errors="replace").splitlines()
        ]
        for triggerer in self.triggerers:
            lines += [line for line in self.log_text(triggerer).splitlines() if name in line]
        return lines

    # ---- REST API --------------------------------------------------------------------------------------------

    def api(self, method: str, path: str, body: object = None, *, params: Mapping[str, Any] | None = None) -> Any:
        """Call the REST API and return the decoded JSON answer; raise StackError on an HTTP error."""
        url = self.base_url + path
        if params:
            url += "?" + urllib.parse.urlencode(params, doseq=True)
        data = json.dumps(body).encode() if body is not None else None
        request = urllib.request.Request(url, data=data, method=method, headers={"Content-Type": "application/json"})
        try:
            with urllib.request.urlopen(request, timeout=30) as response:
                raw = response.read()
        except urllib.error.HTTPError as error:
            with error:
                detail = error.read().decode(errors="replace")
            raise StackError(f"{method} {path} answered {error.code}: {detail}") from None
        return json.loads(raw) if raw else None

    def wait_dag_parsed(self, dag_ids: Iterable[str], *, timeout: float = 120) -> None:
        """Wait until the dag-processor has stored every DAG in ``dag_ids``, unpaused.

        Fails at once on an import error in a wanted DAG's file (named ``<dag_id>.py`` by convention here).
        """
        wanted = set(dag_ids)
        seen: dict[str, Any] = {}

        def parsed() -> bool:
            errors = self.api("GET", "/api/v2/importErrors", params={"limit": 100})["import_errors"]
            seen["import_errors"] = {e["filename"]: e["stack_trace"].splitlines()[-1:] for e in errors}
            for error in errors:
                if Path(error["filename"]).stem in wanted:
                    raise StackError(f"import error in {error['filename']}:\n{error['stack_trace']}")
            dags = self.api("GET", "/api/v2/dags", params={"limit": 100})["dags"]
            seen["dags"] = {d["dag_id"]: "paused" if d["is_paused"] else "active" for d in dags}
            return wanted <= {dag_id for dag_id, state in seen["dags"].items() if state == "active"}

        wait_for(parsed, timeout=timeout, what=f"DAGs {sorted(wanted)} to be parsed", describe=lambda: seen)

    def trigger(self, dag_id: str, conf: Mapping[str, Any] | None = None, *, logical_date: str | None = "now") -> str:
        """Trigger a DAG run and return its run id.

        :param conf: the run's conf (overrides params).
        :param logical_date: ISO 8601, ``"now"`` (default, as the UI's trigger form does) or None (no logical date:
            the context then has no ``ds``).
        """
        if logical_date == "now":
            logical_date = datetime.now(UTC).isoformat()
        body = {"logical_date": logical_date, "conf": dict(conf or {})}
        return str(self.api("POST", f"/api/v2/dags/{dag_id}/dagRuns", body)["dag_run_id"])

    def dag_run(self, dag_id: str, run_id: str) -> dict[str, Any]:
        """Return the DAG run as the REST API shows it."""
        return dict(self.api("GET", f"/api/v2/dags/{dag_id}/dagRuns/{_quote(run_id)}"))

    def task_instances(self, dag_id: str, run_id: str) -> list[dict[str, Any]]:
        """Return every task instance of a DAG run (mapped ones one per map index), sorted by task and index."""
        path = f"/api/v2/dags/{dag_id}/dagRuns/{_quote(run_id)}/taskInstances"
        tis = self.api("GET", path, params={"limit": 100})["task_instances"]
        return sorted(tis, key=lambda ti: (ti["task_id"], ti["map_index"]))

    def ti_states(self, dag_id: str, run_id: str) -> dict[tuple[str, int], str | None]:
        """Return ``{(task_id, map_index): state}`` of a DAG run."""
        return {(ti["task_id"], ti["map_index"]): ti["state"] for ti in self.task_instances(dag_id, run_id)}

    def wait_dag_run(self, dag_id: str, run_id: str, *, timeout: float = 180) -> str:
        """Wait until a DAG run is final and return its state."""

        def final() -> str | None:
            state = self.dag_run(dag_id, run_id)["state"]
            return state if state in FINAL_DAG_RUN_STATES else None

        what = f"DAG run {dag_id}/{run_id} to end"
        return wait_for(final, timeout=timeout, what=what, describe=lambda: self.ti_states(dag_id, run_id))

    def wait_tis(
        self, dag_id: str, run_id: str, task_id: str, state: str, *, count: int = 1, timeout: float = 120
    ) -> list[dict[str, Any]]:
        """Wait until ``count`` task instances of ``task_id`` are in ``state`` and return them."""

        def reached() -> list[dict[str, Any]] | None:
            tis = [ti for ti in self.task_instances(dag_id, run_id) if ti["task_id"] == task_id]
            matching = [ti for ti in tis if ti["state"] == state]
            return matching if len(matching) >= count else None

        return wait_for(
            reached,
            timeout=timeout,
            what=f"{count} x {dag_id}/{run_id}/{task_id} {state}",
            describe=lambda: self.ti_states(dag_id, run_id),
        )

    def xcom(self, dag_id: str, run_id: str, task_id: str, key: str, *, map_index: int = -1) -> Any:
        """Return an XCom value, deserialized."""
        path = f"/api/v2/dags/{dag_id}/dagRuns/{_quote(run_id)}/taskInstances/{task_id}/xcomEntries/{key}"
        value = self.api("GET", path, params={"map_index": map_index, "deserialize": "true"})["value"]
        while isinstance(value, str) and value[:1] in "{[":  # some backends hand JSON back as text
            value = json.loads(value)
        return value

    def extra_links(self, dag_id: str, run_id: str, task_id: str, *, map_index: int = -1) -> dict[str, str | None]:
        """Return the extra links the REST API serves for a task instance: ``{name: url}``."""
        path = f"/api/v2/dags/{dag_id}/dagRuns/{_quote(run_id)}/taskInstances/{task_id}/links"
        return dict(self.api("GET", path, params={"map_index": map_index})["extra_links"])

    def clear(self, dag_id: str, run_id: str, task_ids: Iterable[str | tuple[str, int]]) -> list[dict[str, Any]]:
        """Clear task instances of a DAG run (as a user's Clear in the UI) and return the cleared ones."""
        body = {
            "dry_run": False,
            "only_failed": False,
            "dag_run_id": run_id,
            "task_ids": [list(t) if isinstance(t, tuple) else t for t in task_ids],
            "reset_dag_runs": True,
        }
        return list(self.api("POST", f"/api/v2/dags/{dag_id}/clearTaskInstances", body)["task_instances"])


@contextlib.contextmanager
def running_stack(
    base: Path,
    dag_files: Iterable[Path],
    glue: LocalGlue,
    *,
    start_triggerers: Iterable[str] | None = None,
    **options: Any,
) -> Iterator[AirflowStack]:
    """Start a stack in ``base`` on ``dag_files`` against ``glue``; print its log tails on error; always stop it.

    :param start_triggerers: the triggerers started with the stack (default: all).
    :param options: more :class:`AirflowStack` arguments (``database_url``, ``triggerers``).
    """
    dags = base / "dags"
    dags.mkdir()
    for source in dag_files:
        shutil.copy(source, dags / source.name)
    stack = AirflowStack(
        home=base / "home",
        dags_folder=dags,
        extra_env={
            "AIRFLOW_CONN_AWS_DEFAULT": glue.airflow_connection(),
            "AWS_DEFAULT_REGION": glue.region_name,
            "AWS_EC2_METADATA_DISABLED": "true",
        },
        **options,
    )
    try:
        stack.start(triggerers=start_triggerers)
        yield stack
    except BaseException:
        print(stack.log_tails())
        raise
    finally:
        stack.stop()


def _quote(run_id: str) -> str:
    return urllib.parse.quote(run_id, safe="")
