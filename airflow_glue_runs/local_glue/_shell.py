"""Real Python shell runs: the script of a ``pythonshell`` job runs in a child process, as Glue runs it.

A run of a ``pythonshell`` job whose merged arguments hold no scripted-plan key (``--local-glue-duration``...,
see ``_rules.is_scripted``) is real. When it gets a slot (at once, or when it leaves WAITING) the local Glue:

- reads the script from ``--scriptLocation`` or the job's ``Command.ScriptLocation``: ``s3://bucket/key`` from its
  own S3 (the handed-in reader), or ``file:///path``; it is copied into a fresh ``glue-python-scripts-*`` folder,
  as Glue downloads it; so are the ``.py`` and ``.zip`` files ``--extra-py-files`` lists (comma-separated, the
  same schemes), which the script then imports as on Glue;
- runs ``sys.executable script.py`` with the command line Glue gives a Python shell script:
  ``--job-bookmark-option job-bookmark-disable`` and ``--scriptLocation`` (unless the arguments set them), the
  merged arguments in order (an empty value passes the bare ``--key``), then ``--JOB_ID``, ``--JOB_RUN_ID``,
  ``--JOB_NAME``;
- gives it an environment that reaches the local Glue: ``AWS_ENDPOINT_URL``, the region, dummy credentials, no
  AWS config or credentials file, none of the parent's ``AWS_*`` variables; ``PYTHONPATH`` starts with
  ``_job_runtime`` (the ``awsglue.utils.getResolvedOptions`` stand-in); ``PYTHONUNBUFFERED=1``;
- collects stdout and stderr line by line, with the local Glue's clock as timestamp, into :class:`ShellLogs`;
  ``_logs`` writes them into moto before each CloudWatch Logs call, in ``/aws-glue/python-jobs/output`` and
  ``/error``, stream = run id;
- watches the process from a thread: exit 0 is SUCCEEDED; another exit is FAILED with the traceback's last line
  (``ZeroDivisionError: division by zero``) or ``Command failed with exit code N``; past its timeout the process
  group is killed and the run is TIMEOUT; a stop request sends SIGTERM, then SIGKILL after
  :data:`KILL_GRACE_SECONDS`, and the run is STOPPED when the process is gone.

No moto here and no service lock: the owner (``_moto`` and ``_service``) passes the S3 reader and the callback
that runs when a process ends, and calls in under its own lock.
"""

from __future__ import annotations

import collections
import contextlib
import hashlib
import os
import re
import shutil
import signal
import subprocess
import sys
import tempfile
import threading
import urllib.parse
import urllib.request
from collections.abc import Callable, Mapping, Sequence
from pathlib import Path
from typing import IO, Any

__all__ = ["KILL_GRACE_SECONDS", "PYTHON_SHELL_LOG_GROUP", "ShellLogs", "ShellProcess", "ShellRegistry"]

PYTHON_SHELL_LOG_GROUP = "/aws-glue/python-jobs"
"""The LogGroupName Glue reports for a Python shell run; its groups are ``/output`` and ``/error``."""
KILL_GRACE_SECONDS = 3.0
"""How long a stopped script has between SIGTERM and SIGKILL."""
RUNTIME_DIR = Path(__file__).with_name("_job_runtime")
_TIMEOUT_MESSAGE = "Job run timed out: it ran longer than its Timeout (local Glue)"
_EXCEPTION_LINE = re.compile(r"[A-Za-z_][\w.]*(: .*)?")
_ERROR_NAME = re.compile(r"[\w.]*(Error|Exception)\b")


class ScriptError(Exception):
    """The script cannot be read: the run fails before any process starts."""


class ShellLogs:
    """The lines a real run printed, waiting to be written into moto's logs backend (thread-safe).

    :param group: the log group prefix (``/aws-glue/python-jobs``, or ``--custom-logGroup-prefix``).
    :param stream: the stream name (the run id).
    """

    def __init__(self, group: str, stream: str) -> None:
        self.groups = {"output": f"{group}/output", "error": f"{group}/error"}
        self.stream = stream
        self.groups_made = False
        self._pending: list[tuple[str, int, str]] = []
        self._lock = threading.Lock()

    def add(self, kind: str, at: float, text: str) -> None:
        """Queue one printed line of ``kind`` (``output`` or ``error``) printed at ``at`` (epoch seconds)."""
        with self._lock:
            self._pending.append((kind, int(at * 1000), text))

    def due(self) -> bool:
        """Whether :meth:`write_due` has anything to do."""
        with self._lock:
            return bool(self._pending) or not self.groups_made

    def write_due(self, logs_backend: Any, now: float) -> None:
        """Write the queued lines into moto's logs backend (groups and the stream made as needed)."""
        for name in set(self.groups.values()) - logs_backend.groups.keys():
            logs_backend.create_log_group(name, {})
        self.groups_made = True
        with self._lock:
            pending, self._pending = self._pending, []
        for kind, group_name in self.groups.items():
            events = [{"timestamp": at, "message": text} for k, at, text in pending if k == kind]
            if events:
                group = logs_backend.groups[group_name]
                if self.stream not in group.streams:
                    group.create_log_stream(self.stream)
                group.streams[self.stream].put_log_events(events)


def command_line(script: Path, job_name: str, run_id: str, location: str, arguments: Mapping[str, str]) -> list[str]:
    """Return the child's command line: the interpreter, the script, and the arguments as Glue passes them."""
    given = {"--job-bookmark-option": "job-bookmark-disable", "--scriptLocation": location}
    given = {key: value for key, value in given.items() if key not in arguments}
    argv = [sys.executable, str(script)]
    for key, value in {**given, **arguments}.items():
        argv += [key] if value == "" else [key, value]
    job_id = "j_" + hashlib.sha256(job_name.encode()).hexdigest()[:56]
    return [*argv, "--JOB_ID", job_id, "--JOB_RUN_ID", run_id, "--JOB_NAME", job_name]


def child_environment(endpoint_url: str, region: str) -> dict[str, str]:
    """Return the child's environment: the parent's without any ``AWS_*``, pointed at the local Glue."""
    env = {key: value for key, value in os.environ.items() if not key.startswith(("AWS_", "MOTO_"))}
    env.update(
        AWS_ENDPOINT_URL=endpoint_url,
        AWS_DEFAULT_REGION=region,
        AWS_REGION=region,
        AWS_ACCESS_KEY_ID="testing",
        AWS_SECRET_ACCESS_KEY="testing",
        AWS_CONFIG_FILE=os.devnull,
        AWS_SHARED_CREDENTIALS_FILE=os.devnull,
        AWS_EC2_METADATA_DISABLED="true",
        PYTHONUNBUFFERED="1",
        PYTHONPATH=os.pathsep.join(filter(None, [str(RUNTIME_DIR), os.environ.get("PYTHONPATH")])),
    )
    return env


def read_script(location: str, read_s3: Callable[[str, str], bytes | None], what: str = "script") -> bytes:
    """Return the file's bytes; raise :class:`ScriptError` with the run's ErrorMessage if it cannot be read.

    :param location: ``s3://bucket/key`` (the local Glue's own S3) or ``file:///path``.
    :param read_s3: returns an object of the local S3, None if it does not exist.
    :param what: what the file is, for the message (``script``, ``extra Python file``).
    """
    parsed = urllib.parse.urlsplit(location)
    if parsed.scheme == "s3" and parsed.netloc and parsed.path.strip("/"):
        data = read_s3(parsed.netloc, parsed.path.lstrip("/"))
        if data is None:
            raise ScriptError(f"Error downloading {what}: {location} does not exist (local Glue)")
        return data
    if parsed.scheme == "file":
        try:
            return Path(urllib.request.url2pathname(parsed.path)).read_bytes()
        except OSError as error:
            raise ScriptError(f"Error downloading {what}: {location}: {error.strerror} (local Glue)") from None
    raise ScriptError(f"Unsupported {what} location {location!r}: the local Glue reads s3:// and file:// locations")


def extra_py_files(arguments: Mapping[str, str]) -> list[str]:
    """Return the locations ``--extra-py-files`` lists (comma-separated), in order."""
    return [item.strip() for item in arguments.get("--extra-py-files", "").split(",") if item.strip()]


def _file_name(location: str) -> str:
    return Path(urllib.parse.urlsplit(location).path).name


def failure_message(code: int, stderr_tail: collections.deque[str], traceback_seen: bool) -> str:
    """Return the ErrorMessage of a failed script: its exception's line if it died of one, else its exit code."""
    last = next((line.strip() for line in reversed(stderr_tail) if line.strip()), "")
    if last and _EXCEPTION_LINE.fullmatch(last) and (traceback_seen or _ERROR_NAME.match(last)):
        return last
    if code < 0:
        return f"Command failed: the script was killed by {signal.Signals(-code).name} (local Glue)"
    return f"Command failed with exit code {code}"


class ShellProcess:
    """One real run's process: started on demand, watched by a thread, stopped on request.

    :param argv_for: builds the command line from the folder the script is copied into.
    :param location: the script location.
    :param extra_py_files: the ``--extra-py-files`` locations (``.py`` or ``.zip``), copied beside the script.
    :param read_s3: the local S3 reader (see :func:`read_script`).
    :param env: the child's environment.
    :param timeout_seconds: how long the script may run.
    :param logs: where printed lines go.
    :param clock: the local Glue's clock, for timestamps.
    :param on_exit: called (from the watcher thread) once the run's end is recorded.
    """

    def __init__(
        self,
        *,
        argv_for: Callable[[Path], list[str]],
        location: str,
        extra_py_files: Sequence[str] = (),
        read_s3: Callable[[str, str], bytes | None],
        env: dict[str, str],
        timeout_seconds: float,
        logs: ShellLogs,
        clock: Callable[[], float],
        on_exit: Callable[[], None],
    ) -> None:
        self.argv_for, self.location, self.read_s3, self.env = argv_for, location, read_s3, env
        self.extra_py_files = tuple(extra_py_files)
        self.timeout_seconds, self.logs, self.clock, self.on_exit = timeout_seconds, logs, clock, on_exit
        self.started_at: float | None = None
        self.ended_at: float | None = None
        self.outcome: tuple[str, str | None] | None = None
        self.pid: int | None = None
        self._proc: subprocess.Popen[bytes] | None = None
        self._folder: str | None = None
        self._lock = threading.Lock()
        self._stop_requested = False
        self._timed_out = False
        self._stderr_tail: collections.deque[str] = collections.deque(maxlen=50)
        self._traceback_seen = False
        self._watcher: threading.Thread | None = None

    def start(self) -> None:
        """Read the script and start the process and its threads; a script that cannot be read ends the run."""
        try:
            files = [(where, read_script(where, self.read_s3, "extra Python file")) for where in self.extra_py_files]
            text = read_script(self.location, self.read_s3)
        except ScriptError as error:
            self._end("FAILED", error.args[0])
            return
        self._folder = tempfile.mkdtemp(prefix="glue-python-scripts-")
        env, archives = dict(self.env), []
        for location, data in files:
            path = Path(self._folder) / _file_name(location)
            path.write_bytes(data)
            if path.suffix == ".zip":  # a .py beside the script is importable already
                archives.append(str(path))
        env["PYTHONPATH"] = os.pathsep.join(filter(None, [*archives, env.get("PYTHONPATH")]))
        script = Path(self._folder) / (_file_name(self.location) or "script.py")
        script.write_bytes(text)
        proc = subprocess.Popen(
            self.argv_for(script),
            stdin=subprocess.DEVNULL,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            env=env,
            cwd=self._folder,
            start_new_session=True,  # its own process group: a stop or timeout kills what the script started too
        )
        self._proc, self.pid, self.started_at = proc, proc.pid, self.clock()
        out, err = proc.stdout, proc.stderr
        if out is None or err is None:  # cannot happen with PIPE; tells mypy so
            raise RuntimeError("the script's output pipes are missing")
        pumps = [self._thread(self._pump, "output", out), self._thread(self._pump, "error", err)]
        self._watcher = self._thread(self._watch, proc, pumps)

    def _thread(self, target: Callable[..., None], *args: Any) -> threading.Thread:
        thread = threading.Thread(target=target, args=args, name=f"local-glue-shell-{self.pid}", daemon=True)
        thread.start()
        return thread

    def _pump(self, kind: str, stream: IO[bytes]) -> None:
        with stream:
            for raw in iter(stream.readline, b""):
                line = raw.decode(errors="replace").rstrip("\r\n")
                self.logs.add(kind, self.clock(), line)
                if kind == "error":
                    self._traceback_seen |= line.startswith("Traceback (most recent call last):")
                    self._stderr_tail.append(line)

    def _watch(self, proc: subprocess.Popen[bytes], pumps: list[threading.Thread]) -> None:
        try:
            code = proc.wait(timeout=self.timeout_seconds)
        except subprocess.TimeoutExpired:
            with self._lock:
                self._timed_out = not self._stop_requested
            self._kill(signal.SIGKILL)
            code = proc.wait()
        for pump in pumps:
            pump.join()
        if self._stop_requested:
            state, message = "STOPPED", None
        elif self._timed_out:
            state, message = "TIMEOUT", _TIMEOUT_MESSAGE
        elif code == 0:
            state, message = "SUCCEEDED", None
        else:
            state, message = "FAILED", failure_message(code, self._stderr_tail, self._traceback_seen)
        self._end(state, message)
        self.on_exit()

    def _end(self, state: str, message: str | None) -> None:
        with self._lock:
            self.ended_at, self.outcome = self.clock(), (state, message)
        if self._folder is not None:
            shutil.rmtree(self._folder, ignore_errors=True)

    def request_stop(self) -> bool:
        """Ask the script to stop (SIGTERM, SIGKILL after the grace time); return False if it already ended."""
        with self._lock:
            if self.outcome is not None:
                return False
            self._stop_requested = True
        self._kill(signal.SIGTERM)
        timer = threading.Timer(KILL_GRACE_SECONDS, self._kill, args=(signal.SIGKILL,))
        timer.daemon = True
        timer.start()
        return True

    def _kill(self, signum: signal.Signals) -> None:
        if self._proc is not None and self._proc.returncode is None:
            with contextlib.suppress(ProcessLookupError, PermissionError):
                os.killpg(self._proc.pid, signum)

    def terminate_now(self) -> None:
        """Kill the process group and wait until the process is gone (the local Glue stops or resets)."""
        with self._lock:
            self._stop_requested = True
        self._kill(signal.SIGKILL)
        if self._proc is not None:
            self._proc.wait()  # not the watcher: it may be waiting for the lock our caller holds


class ShellRegistry:
    """Every real run's process of one local Glue, so a reset or stop can end them all."""

    def __init__(self) -> None:
        self.generation = 0
        self._processes: list[ShellProcess] = []
        self._lock = threading.Lock()

    def launch(self, process: ShellProcess, generation: int) -> None:
        """Start ``process`` unless the local Glue was reset since its run was created."""
        with self._lock:
            if generation != self.generation:
                return
            self._processes = [p for p in self._processes if p.outcome is None]
            self._processes.append(process)
        process.start()

    def stop_all(self) -> None:
        """Kill every process and wait until each is gone; runs created before this call never start one."""
        with self._lock:
            self.generation += 1
            processes, self._processes = self._processes, []
        for process in processes:
            process.terminate_now()
