"""The local Glue's WSGI middleware in front of moto: routing, counters, faults, paging tokens, the control API.

It reaches moto's Glue objects only through ``_moto`` and ``_jobs`` and moto's WSGI app (handed in), and
CloudWatch Logs through ``_logs``. Other services' requests (S3, STS, IAM, SQS, EventBridge...) go to moto in this
local Glue's account; S3, STS, IAM, SQS and EventBridge calls are counted by the names ``_operations`` gives them.
Runs' ends go to EventBridge through ``_events``: it is told of every start, stop, forced state and process exit,
and catches up before each SQS or EventBridge request.
"""

from __future__ import annotations

import io
import itertools
import json
import os
import re
import socket
import threading
from collections import Counter
from collections.abc import Callable, Iterable, Mapping
from functools import cache
from typing import Any

from airflow_glue_runs.local_glue._event_faults import EventFaults
from airflow_glue_runs.local_glue._events import EVENT_COUNTERS, EventEmitter
from airflow_glue_runs.local_glue._faults import FAULT_KINDS, _Faults, drop_connection, fault_answer
from airflow_glue_runs.local_glue._http import discard, respond
from airflow_glue_runs.local_glue._jobs import (
    TAG_OPERATIONS,
    check_tagged_job,
    control_create_job,
    create_job,
    delete_job,
    update_job,
)
from airflow_glue_runs.local_glue._logs import (
    LOG_LINES_ARGUMENT,
    LOGS_TARGET_PREFIX,
    logs_operations,
    parse_log_lines,
    reset_logs,
    shape_filter_request,
    write_due_logs,
)
from airflow_glue_runs.local_glue._moto import (
    batch_stop_job_run,
    first_reads,
    glue_backends,
    mark_first_reads,
    read_s3_object,
    reset_account,
    run_count,
    set_run_state,
    start_job_run,
)
from airflow_glue_runs.local_glue._operations import operation_name, signing_service
from airflow_glue_runs.local_glue._rules import _WORKER_TYPES, JOB_RUN_STATES, _choice, _GlueError, _Plan
from airflow_glue_runs.local_glue._shell import ShellRegistry
from airflow_glue_runs.local_glue._shell_run import ShellHost

_CONTROL_PATH = "/_local_glue/"
_CONTROL_METHODS = (
    *("inject_fault", "calls", "connections", "reset_counters"),
    *("set_run_state", "run_count", "first_reads", "reset", "create_job"),
    *("set_event_faults", "event_counts"),
)
# A NextToken starting with "//" base64-decodes to a first byte >= 0xFC, never valid UTF-8: see _opaque_token.
_TOKEN_PREFIX = "//local-glue/"
_CREDENTIAL_REGION = re.compile(r"Credential=[^/,\s]+/[^/]+/([^/]+)/")
_accounts = itertools.count(123456789012)  # moto's default account first, then one more per LocalGlue


@cache
def _glue_operations() -> tuple[str, ...]:
    import botocore.session

    return tuple(sorted(botocore.session.get_session().get_service_model("glue").operation_names))


class _Service:
    """The WSGI middleware in front of moto: counters, faults, three Glue operations and the control API."""

    def __init__(self, moto_app: Callable[..., Iterable[bytes]], clock: Callable[[], float], region: str) -> None:
        self.moto_app = moto_app
        self.clock = clock
        self.region = region
        self.own_account = str(next(_accounts))
        # One lock serialises Glue requests and control calls: moto's backends are not thread-safe.
        self.lock = threading.RLock()
        self.call_counts: Counter[str] = Counter()
        self.peers: set[tuple[str, int]] = set()
        self.faults = _Faults()
        self.sockets: set[socket.socket] = set()
        self.shells = ShellRegistry()  # the processes of real Python shell runs
        self.events = EventEmitter(lock=self.lock, clock=clock, account=lambda: self.account)

    @property
    def account(self) -> str:
        """Return the moto account of this local Glue (moto gives ``MOTO_ACCOUNT_ID`` precedence, so do we)."""
        return os.environ.get("MOTO_ACCOUNT_ID") or self.own_account

    def __call__(self, environ: dict[str, Any], start_response: Callable[..., Any]) -> Iterable[bytes]:
        """Answer one WSGI request."""
        path = environ.get("PATH_INFO", "")
        if path.startswith(_CONTROL_PATH):
            return self._control_request(path.removeprefix(_CONTROL_PATH), environ, start_response)
        target = environ.get("HTTP_X_AMZ_TARGET", "")
        if target.startswith(LOGS_TARGET_PREFIX):
            return self._logs_request(target.removeprefix(LOGS_TARGET_PREFIX), environ, start_response)
        if not target.startswith("AWSGlue."):  # other services and moto's own API pass through
            return self._pass_through(path, environ, start_response)
        operation = target.removeprefix("AWSGlue.")
        environ["HTTP_X_MOTO_ACCOUNT_ID"] = self.account  # moto reads the account from this header
        region = self._region(environ)
        with self.lock:
            self.call_counts[operation] += 1
            self.peers.add((environ.get("REMOTE_ADDR", ""), int(environ.get("REMOTE_PORT") or 0)))
            fault = self.faults.take(operation)
            if fault is not None and fault.kind == "drop_response":
                # Glue acts on the request; the answer is lost on the way back (the client cannot tell).
                self._answer(operation, region, environ, discard)
                return drop_connection(environ)
            if fault is not None:
                return fault_answer(fault, environ, start_response)
            return self._answer(operation, region, environ, start_response)

    def _pass_through(self, path: str, environ: dict[str, Any], start_response: Callable[..., Any]) -> Iterable[bytes]:
        """Let moto answer another service's request in this local Glue's account; count S3, STS and IAM calls."""
        if not path.startswith("/moto-api/"):
            # STS answers this account, S3 keeps buckets in it, SQS queues and EventBridge rules live in it.
            environ["HTTP_X_MOTO_ACCOUNT_ID"] = self.account
            service = signing_service(environ)
            operation = operation_name(environ, service)
            with self.lock:
                if operation is not None:
                    self.call_counts[operation] += 1
                if service in ("sqs", "events"):
                    self.events.catch_up()  # what ended by the clock is in the queues before moto answers
        return self.moto_app(environ, start_response)  # without the lock: a ReceiveMessage may wait 20 s

    def _region(self, environ: Mapping[str, Any]) -> str:
        """Return the region a request was signed for (this local Glue's region if unsigned)."""
        match = _CREDENTIAL_REGION.search(environ.get("HTTP_AUTHORIZATION", ""))
        return match.group(1) if match else self.region

    def _logs_request(
        self, operation: str, environ: dict[str, Any], start_response: Callable[..., Any]
    ) -> Iterable[bytes]:
        """Count and fault a CloudWatch Logs call like a Glue one; write the scripted lines due; let moto answer."""
        environ["HTTP_X_MOTO_ACCOUNT_ID"] = self.account
        region = self._region(environ)
        with self.lock:
            self.call_counts[operation] += 1
            fault = self.faults.take(operation, wildcard=False)
            if fault is not None:
                return fault_answer(fault, environ, start_response)
            write_due_logs(glue_backends(), self.account, self.clock())
            answer = shape_filter_request(operation, region, self.account, environ)
            return respond(start_response, *answer) if answer else self.moto_app(environ, start_response)

    def _answer(
        self, operation: str, region: str, environ: dict[str, Any], start_response: Callable[..., Any]
    ) -> Iterable[bytes]:
        try:
            own = self._own_operation(operation, environ)
            request = environ["wsgi.input"].read()
            if own is not None or operation in TAG_OPERATIONS:
                body = json.loads(request or b"{}")
                if own is not None:
                    return respond(start_response, 200, own(self.account, region, body))
                check_tagged_job(self.account, region, body)  # then moto answers
            request = _opaque_token(request, wrap=False)
            environ["wsgi.input"], environ["CONTENT_LENGTH"] = io.BytesIO(request), str(len(request))
            answer = b"".join(self.moto_app(environ, start_response))
            if operation in ("GetJobRun", "GetJobRuns"):
                self._mark_first_reads(region, request, answer)
            return [_opaque_token(answer, wrap=True)]
        except _GlueError as error:
            payload = {"__type": error.code, "message": error.message}
            return respond(start_response, error.status, payload)

    def _own_operation(
        self, operation: str, environ: Mapping[str, Any]
    ) -> Callable[[str, str, Mapping[str, Any]], dict[str, Any]] | None:
        """Return the local Glue's own answer to a Glue operation (None: moto answers)."""
        if operation == "StartJobRun":
            return lambda account, region, body: self._watched(
                region,
                str(body.get("JobName")),
                start_job_run(account, region, body, self.clock, lambda: self._shell_host(region, environ)),
            )
        if operation == "BatchStopJobRun":
            return lambda account, region, body: self._watched(
                region, str(body.get("JobName")), batch_stop_job_run(account, region, body, self.clock())
            )
        return {"CreateJob": create_job, "UpdateJob": update_job, "DeleteJob": delete_job}.get(operation)

    def _watched(self, region: str, job_name: str, answer: dict[str, Any]) -> dict[str, Any]:
        """Tell the event emitter of the runs a StartJobRun or BatchStopJobRun answer names; return the answer."""
        run_ids = [answer["JobRunId"]] if "JobRunId" in answer else []
        run_ids += [run["JobRunId"] for run in answer.get("SuccessfulSubmissions", ())]
        for run_id in run_ids:
            self.events.watch(region, job_name, run_id)
        return answer

    def _shell_host(self, region: str, environ: Mapping[str, Any]) -> ShellHost:
        """Return what a real Python shell run started by this request needs (its script calls the same address)."""
        host = environ.get("HTTP_HOST") or f"{environ.get('SERVER_NAME')}:{environ.get('SERVER_PORT')}"
        account = self.account
        return ShellHost(
            registry=self.shells,
            lock=self.lock,
            clock=self.clock,
            endpoint_url=f"http://{host}",
            region=region,
            read_s3=lambda bucket, key: read_s3_object(account, bucket, key),
            on_run_end=lambda job_name, run_id: self.events.watch(region, job_name, run_id),
        )

    def _mark_first_reads(self, region: str, request: bytes, answer: bytes) -> None:
        """Record when a client first saw each run of a GetJobRun answer or GetJobRuns page (not on errors)."""
        data = json.loads(answer or b"{}")
        runs = [data.get("JobRun") or {}, *(data.get("JobRuns") or [])]
        seen = [run["Id"] for run in runs if "Id" in run]
        if seen:
            job_name = json.loads(request or b"{}").get("JobName")
            mark_first_reads(self.account, region, job_name, seen, self.clock())

    # The control API: the same for LocalGlue (in process) and LocalGlueControl (over HTTP).

    def control(self, method: str, arguments: Mapping[str, Any]) -> Any:
        """Run one control method; raise ValueError for a bad argument, LookupError for a missing job or run.

        :param method: one of the control methods (``inject_fault``, ``calls``...).
        :param arguments: its keyword arguments.
        """
        _choice("method", method, _CONTROL_METHODS)
        with self.lock:
            return getattr(self, "control_" + method)(**arguments)

    def control_inject_fault(self, operation: str, fault: str, times: int = 1, message: str | None = None) -> None:
        if operation != "*":
            _choice("operation", operation, ("*", *_glue_operations(), *logs_operations()))
        _choice("fault", fault, FAULT_KINDS)
        if not isinstance(times, int) or times < 1:
            raise ValueError(f"times must be a positive integer; got {times!r}")
        self.faults.add(operation, fault, times, message)

    def control_calls(self) -> dict[str, int]:
        return dict(self.call_counts)

    def control_connections(self) -> int:
        return len(self.peers)

    def control_reset_counters(self) -> None:
        self.call_counts.clear()
        self.peers.clear()
        self.events.counts.clear()

    def control_set_event_faults(self, **switches: Any) -> None:
        self.events.set_faults(EventFaults.from_arguments(switches))

    def control_event_counts(self) -> dict[str, int]:
        return {name: self.events.counts[name] for name in EVENT_COUNTERS}

    def control_set_run_state(self, job_name: str, run_id: str, state: str, error_message: str | None = None) -> None:
        _choice("state", state, JOB_RUN_STATES)
        set_run_state(self.account, self.region, job_name, run_id, state, error_message, self.clock())
        self.events.watch(self.region, job_name, run_id)

    def control_first_reads(self, job_name: str) -> dict[str, float]:
        return first_reads(self.account, self.region, job_name)

    def control_run_count(self, job_name: str) -> int:
        return run_count(self.account, self.region, job_name)

    def control_reset(self) -> None:
        self.shells.stop_all()  # first: a process must not outlive its run, nor write into the next test's S3
        reset_account(self.account)
        reset_logs(self.account)
        self.events.reset()
        self.faults.clear()
        self.control_reset_counters()

    def close(self) -> None:
        """Stop the event emitter's thread (the server stopped): after :meth:`control_reset`, without the lock."""
        self.events.close()

    def control_create_job(
        self,
        name: str,
        max_concurrent_runs: int = 1,
        default_arguments: dict[str, str] | None = None,
        timeout: int | None = None,
        glue_version: str | None = None,
        worker_type: str | None = "G.1X",
        number_of_workers: int | None = 2,
        non_overridable_arguments: dict[str, str] | None = None,
        command: str = "glueetl",
        script_location: str | None = None,
    ) -> None:
        if not isinstance(name, str) or not name:
            raise ValueError(f"name must be a non-empty string; got {name!r}")
        if not isinstance(max_concurrent_runs, int) or max_concurrent_runs < 1:
            raise ValueError(f"max_concurrent_runs must be a positive integer; got {max_concurrent_runs!r}")
        _choice("command", command, ("glueetl", "gluestreaming", "pythonshell"))
        shell = command == "pythonshell"
        if shell:  # sized by MaxCapacity, never by workers
            worker_type = number_of_workers = None
        if worker_type is not None:
            _choice("worker_type", worker_type, _WORKER_TYPES)
        arguments = {**(default_arguments or {}), **(non_overridable_arguments or {})}
        _Plan.from_arguments(arguments)  # a bad plan fails here, not at the first StartJobRun
        parse_log_lines(arguments.get(LOG_LINES_ARGUMENT, "[]"))
        definition = {
            "Role": f"arn:aws:iam::{self.account}:role/local-glue",
            "Command": {"Name": command, "ScriptLocation": script_location or f"s3://local-glue/{name}.py"},
            "ExecutionProperty": {"MaxConcurrentRuns": max_concurrent_runs},
            "DefaultArguments": dict(default_arguments or {}),
            "NonOverridableArguments": dict(non_overridable_arguments) if non_overridable_arguments else None,
            "Timeout": timeout,
            "GlueVersion": glue_version or ("3.0" if shell else "4.0"),
            "MaxCapacity": 0.0625 if shell else None,
            "WorkerType": worker_type,
            "NumberOfWorkers": number_of_workers if worker_type is not None else None,  # None: a MaxCapacity job
        }
        definition = {field: value for field, value in definition.items() if value is not None}
        control_create_job(self.account, self.region, name, definition)

    def _control_request(self, method: str, environ: dict[str, Any], start_response: Callable[..., Any]) -> list[bytes]:
        try:
            arguments = json.loads(environ["wsgi.input"].read() or b"{}")
            if not isinstance(arguments, dict):
                raise ValueError("the request body must be a JSON object of keyword arguments")
            return respond(start_response, 200, {"result": self.control(method, arguments)})
        except (ValueError, TypeError) as error:
            return respond(start_response, 400, {"error": "ValueError", "message": str(error)})
        except LookupError as error:
            return respond(start_response, 404, {"error": "LookupError", "message": str(error.args[0])})


def _opaque_token(body: bytes, *, wrap: bool) -> bytes:
    """Wrap moto's NextToken in an answer (or unwrap it in a request) so botocore treats it as opaque.

    moto's token is base64 JSON, which botocore's paginator mistakes for its own resume token when a page's
    NextToken is passed as ``StartingToken``, and then sends moto's token fields as request parameters. Glue's
    own tokens are opaque: botocore fails to decode them and passes them through, as it does with ours.
    The handler sets Content-Length from the rewritten body.
    """
    if b'"NextToken"' not in body:
        return body
    data = json.loads(body)
    token = data.get("NextToken")
    if not isinstance(token, str):
        return body
    data["NextToken"] = _TOKEN_PREFIX + token if wrap else token.removeprefix(_TOKEN_PREFIX)
    return json.dumps(data).encode()
