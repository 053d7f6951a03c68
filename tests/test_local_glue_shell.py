"""Tests of real Python shell runs in the local Glue: the script runs in a child process, as Glue runs it.

Scripts that must wait do so on a file the test creates (a bounded loop inside the script), never on a sleep.
"""

from __future__ import annotations

import json
import os
import sys
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from botocore.exceptions import ClientError
from support import SAFETY, aws_client, s3_client

from airflow_glue_runs.local_glue import LocalGlue
from airflow_glue_runs.local_glue._job_runtime.awsglue.utils import GlueArgumentError, getResolvedOptions

FINAL = {"STOPPED", "SUCCEEDED", "FAILED", "TIMEOUT", "ERROR", "EXPIRED"}
BUCKET = "shell-scripts"
# A script waits for `--release` (a file path) to exist; bounded so that a broken test cannot leave it running.
WAIT_FOR_RELEASE = """
import os, sys, time
from awsglue.utils import getResolvedOptions
args = getResolvedOptions(sys.argv, ["release"])
deadline = time.monotonic() + 60
while not os.path.exists(args["release"]) and time.monotonic() < deadline:
    time.sleep(0.02)
"""


def poll(condition: Callable[[], Any], what: str) -> Any:
    """Return the first truthy value of ``condition``, polled until SAFETY seconds have passed."""
    deadline = time.monotonic() + SAFETY
    while True:
        value = condition()
        if value:
            return value
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out waiting for {what}")
        time.sleep(0.02)


def get_run(glue: LocalGlue, job: str, run_id: str) -> dict[str, Any]:
    run: dict[str, Any] = glue.client().get_job_run(JobName=job, RunId=run_id)["JobRun"]
    return run


def final_run(glue: LocalGlue, job: str, run_id: str) -> dict[str, Any]:
    """Poll GetJobRun until the run is final and return it."""

    def final() -> dict[str, Any] | None:
        run = get_run(glue, job, run_id)
        return run if run["JobRunState"] in FINAL else None

    run: dict[str, Any] = poll(final, "a final state")
    return run


def shell_job(glue: LocalGlue, tmp_path: Path, text: str, *, name: str = "shell", **job: Any) -> str:
    """Create a pythonshell job running ``text`` from a file:// script."""
    script = tmp_path / f"{name}.py"
    script.write_text(text)
    glue.create_job(name, command="pythonshell", script_location=script.as_uri(), **job)
    return name


def start(glue: LocalGlue, job: str, **request: Any) -> str:
    run_id: str = glue.client().start_job_run(JobName=job, **request)["JobRunId"]
    return run_id


def forever(pid_file: Path) -> str:
    """A script that writes its pid, then never ends."""
    return f"import os, time\nopen({str(pid_file)!r}, 'w').write(str(os.getpid()))\nwhile True:\n    time.sleep(1)\n"


def pid_gone(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return True
    return False


def events(glue: LocalGlue, group: str) -> list[dict[str, Any]]:
    logs = aws_client(glue, "logs")
    try:
        return list(logs.filter_log_events(logGroupName=group)["events"])
    except ClientError:
        return []


def test_script_from_s3_writes_to_local_s3_with_merged_arguments(
    glue: LocalGlue, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A script uploaded to the local S3 runs with the merged arguments on its command line, reaches the local
    endpoint (S3 and STS, in the local Glue's account) with the local credentials, not the parent's, and SUCCEEDS."""
    monkeypatch.setenv("AWS_ACCESS_KEY_ID", "AKIAPARENTREALKEY")
    monkeypatch.setenv("AWS_SESSION_TOKEN", "parent-session-token")
    script = """
import json, os, sys, boto3
from awsglue.utils import getResolvedOptions
args = getResolvedOptions(sys.argv, ["JOB_NAME", "day", "kept"])
seen = {"args": args, "argv": sys.argv[1:], "key": os.environ["AWS_ACCESS_KEY_ID"],
        "token": os.environ.get("AWS_SESSION_TOKEN"), "account": boto3.client("sts").get_caller_identity()["Account"]}
boto3.client("s3").put_object(Bucket="shell-scripts", Key="out/seen.json", Body=json.dumps(seen))
"""
    uri = glue.upload_script(BUCKET, "jobs/etl.py", script)
    glue.create_job("etl", command="pythonshell", script_location=uri, default_arguments={"--day": "1", "--kept": "k"})
    run_id = start(glue, "etl", Arguments={"--day": "2"})
    run = final_run(glue, "etl", run_id)
    assert (run["JobRunState"], run.get("ErrorMessage"), run["LogGroupName"]) == (
        "SUCCEEDED",
        None,
        "/aws-glue/python-jobs",
    )
    assert run["StartedOn"] <= run["CompletedOn"]
    seen = json.loads(s3_client(glue).get_object(Bucket=BUCKET, Key="out/seen.json")["Body"].read())
    assert {k: seen["args"][k] for k in ("JOB_NAME", "JOB_RUN_ID", "day", "kept", "job_bookmark_option")} == {
        "JOB_NAME": "etl",
        "JOB_RUN_ID": run_id,
        "day": "2",
        "kept": "k",
        "job_bookmark_option": "job-bookmark-disable",
    }
    argv = seen["argv"]
    assert argv[argv.index("--scriptLocation") + 1] == uri
    assert (seen["key"], seen["token"]) == ("testing", None)
    assert seen["account"] == aws_client(glue, "sts").get_caller_identity()["Account"]


@pytest.mark.parametrize(
    ("script", "message"),
    [
        ("print('working')\n1 / 0\n", "ZeroDivisionError: division by zero"),
        ("import sys\nsys.exit(3)\n", "Command failed with exit code 3"),
        ("def broken(:\n    pass\n", "SyntaxError: invalid syntax"),
        ("import no_such_module_for_glue\n", "ModuleNotFoundError: No module named 'no_such_module_for_glue'"),
        ("raise RuntimeError('table raw.events not found')\n", "RuntimeError: table raw.events not found"),
    ],
    ids=["exception", "exit-code", "syntax-error", "import-error", "raise"],
)
def test_a_failing_script_fails_the_run_with_its_error(
    glue: LocalGlue, tmp_path: Path, script: str, message: str
) -> None:
    """A script that raises, exits non-zero, does not parse or cannot import is FAILED; the ErrorMessage is the
    traceback's last line, or the exit code when there is no traceback."""
    job = shell_job(glue, tmp_path, script)
    run = final_run(glue, job, start(glue, job))
    assert (run["JobRunState"], run["ErrorMessage"]) == ("FAILED", message)
    assert "CompletedOn" in run


def test_a_missing_script_fails_the_run(glue: LocalGlue, tmp_path: Path) -> None:
    """A script absent from the local S3 or from the disk fails the run at once with a message naming it."""
    glue.create_job("s3-missing", command="pythonshell", script_location=f"s3://{BUCKET}/nope.py")
    glue.create_job("file-missing", command="pythonshell", script_location=(tmp_path / "nope.py").as_uri())
    s3_missing = final_run(glue, "s3-missing", start(glue, "s3-missing"))
    file_missing = final_run(glue, "file-missing", start(glue, "file-missing"))
    assert s3_missing["JobRunState"] == file_missing["JobRunState"] == "FAILED"
    assert s3_missing["ErrorMessage"] == f"Error downloading script: s3://{BUCKET}/nope.py does not exist (local Glue)"
    assert "nope.py: No such file or directory" in file_missing["ErrorMessage"]
    assert s3_missing["ExecutionTime"] == 0


def test_extra_py_files_are_importable_by_the_script(glue: LocalGlue, tmp_path: Path) -> None:
    """The ``.py`` files ``--extra-py-files`` lists (from the local S3 or file://) are beside the script, so it
    imports them as on Glue; a listed file that does not exist fails the run before any process starts."""
    helper = glue.upload_script(BUCKET, "libs/shared_helper.py", "ANSWER = 42\n")
    local = tmp_path / "local_helper.py"
    local.write_text("NAME = 'local'\n")
    job = shell_job(
        glue,
        tmp_path,
        "import shared_helper, local_helper\nprint(shared_helper.ANSWER, local_helper.NAME)\n",
        default_arguments={"--extra-py-files": f"{helper}, {local.as_uri()}"},
    )
    run_id = start(glue, job)
    assert final_run(glue, job, run_id)["JobRunState"] == "SUCCEEDED"
    assert "42 local" in [event["message"] for event in events(glue, "/aws-glue/python-jobs/output")]

    missing = start(glue, job, Arguments={"--extra-py-files": f"s3://{BUCKET}/libs/absent.py"})
    run = final_run(glue, job, missing)
    assert (run["JobRunState"], f"s3://{BUCKET}/libs/absent.py" in run["ErrorMessage"]) == ("FAILED", True)
    assert run["ErrorMessage"].startswith("Error downloading extra Python file:")


def test_a_script_past_its_timeout_is_killed(glue: LocalGlue, tmp_path: Path) -> None:
    """A script that never ends is killed at --local-glue-timeout-seconds: TIMEOUT with Glue's message, no process."""
    pid_file = tmp_path / "pid"
    script = forever(pid_file)
    job = shell_job(glue, tmp_path, script, default_arguments={"--local-glue-timeout-seconds": "1"})
    run = final_run(glue, job, start(glue, job))
    assert run["JobRunState"] == "TIMEOUT"
    assert run["ErrorMessage"].startswith("Job run timed out")
    assert pid_gone(int(pid_file.read_text()))


def test_batch_stop_job_run_stops_the_process(glue: LocalGlue, tmp_path: Path) -> None:
    """BatchStopJobRun on a running script: STOPPING while it ignores SIGTERM, STOPPED once it is killed."""
    pid_file = tmp_path / "pid"
    script = (
        "import os, signal, time\nsignal.signal(signal.SIGTERM, lambda *a: print('ignoring SIGTERM', flush=True))\n"
        f"open({str(pid_file)!r}, 'w').write(str(os.getpid()))\nwhile True:\n    time.sleep(0.05)\n"
    )
    job = shell_job(glue, tmp_path, script)
    run_id = start(glue, job)
    poll(lambda: pid_file.exists() and pid_file.read_text(), "the script's pid")
    answer = glue.client().batch_stop_job_run(JobName=job, JobRunIds=[run_id])
    assert answer["Errors"] == []
    assert get_run(glue, job, run_id)["JobRunState"] == "STOPPING"
    run = final_run(glue, job, run_id)
    assert run["JobRunState"] == "STOPPED"
    assert pid_gone(int(pid_file.read_text()))
    assert "ignoring SIGTERM" in [e["message"] for e in events(glue, "/aws-glue/python-jobs/output")]


def test_a_queued_run_starts_its_process_when_the_first_ends(glue: LocalGlue, tmp_path: Path) -> None:
    """With MaxConcurrentRuns 1 a second run WAITS (queuing on) or is refused (off); it starts only after the
    first run's process ended."""
    release, trace = tmp_path / "release", tmp_path / "trace"
    script = (
        "import sys\nrun_id = sys.argv[sys.argv.index('--JOB_RUN_ID') + 1]\n"
        f"open({str(trace)!r}, 'a').write('start ' + run_id + '\\n')\n"
        f"{WAIT_FOR_RELEASE}\n"
        f"open({str(trace)!r}, 'a').write('end ' + run_id + '\\n')\n"
    )
    job = shell_job(glue, tmp_path, script, default_arguments={"--release": str(release)})
    first = start(glue, job)
    poll(lambda: get_run(glue, job, first)["JobRunState"] == "RUNNING", "the first run to run")
    second = start(glue, job, JobRunQueuingEnabled=True)
    with pytest.raises(ClientError, match="ConcurrentRunsExceededException"):
        start(glue, job)
    waiting = get_run(glue, job, second)
    assert waiting["JobRunState"] == "WAITING"
    assert "StateDetail" in waiting
    release.touch()
    assert final_run(glue, job, first)["JobRunState"] == "SUCCEEDED"
    assert final_run(glue, job, second)["JobRunState"] == "SUCCEEDED"
    assert trace.read_text().split("\n") == [f"start {first}", f"end {first}", f"start {second}", f"end {second}", ""]


def test_stdout_and_stderr_reach_the_run_streams_while_it_runs(glue: LocalGlue, tmp_path: Path) -> None:
    """Printed lines land in /aws-glue/python-jobs/output and /error, stream = run id, while the script runs,
    with timestamps inside the run."""
    release = tmp_path / "release"
    script = f"print('first line', flush=True)\n{WAIT_FOR_RELEASE}\nprint('an error line', file=sys.stderr)\n"
    job = shell_job(glue, tmp_path, script, default_arguments={"--release": str(release)})
    run_id = start(glue, job)
    output = poll(lambda: events(glue, "/aws-glue/python-jobs/output"), "the first line")
    assert get_run(glue, job, run_id)["JobRunState"] == "RUNNING"
    assert [(e["logStreamName"], e["message"]) for e in output] == [(run_id, "first line")]
    release.touch()
    run = final_run(glue, job, run_id)
    errors = events(glue, "/aws-glue/python-jobs/error")
    assert [(e["logStreamName"], e["message"]) for e in errors] == [(run_id, "an error line")]
    started, completed = (run["StartedOn"].timestamp() * 1000, run["CompletedOn"].timestamp() * 1000)
    assert all(started <= e["timestamp"] <= completed for e in [*output, *errors])


def test_stop_ends_every_script_process(tmp_path: Path) -> None:
    """LocalGlue.stop() kills a script that would run forever: afterwards its process is gone."""
    pid_file = tmp_path / "pid"
    with LocalGlue() as glue:
        job = shell_job(glue, tmp_path, forever(pid_file))
        run_id = start(glue, job)
        pid = int(poll(lambda: pid_file.exists() and pid_file.read_text(), "the script's pid"))
        assert get_run(glue, job, run_id)["JobRunState"] == "RUNNING"
    assert pid_gone(pid)


def test_a_scripted_plan_key_keeps_a_pythonshell_run_scripted(glue: LocalGlue, tmp_path: Path) -> None:
    """A pythonshell run with a --local-glue-* plan key is played from its plan (the script never runs); a glueetl
    job never runs its script."""
    marker = tmp_path / "ran"
    script = f"open({str(marker)!r}, 'w').write('ran')\n"
    shell = shell_job(glue, tmp_path, script, default_arguments={"--local-glue-final-state": "FAILED"})
    glue.create_job("spark", script_location=(tmp_path / f"{shell}.py").as_uri())
    scripted = final_run(glue, shell, start(glue, shell))
    spark = final_run(glue, "spark", start(glue, "spark"))
    assert (scripted["JobRunState"], scripted["LogGroupName"]) == ("FAILED", "/aws-glue/python-jobs")
    assert (spark["JobRunState"], spark["LogGroupName"]) == ("SUCCEEDED", "/aws-glue/jobs")
    assert not marker.exists()


def test_timeout_seconds_also_cuts_a_scripted_run(glue: LocalGlue) -> None:
    """--local-glue-timeout-seconds is no plan key: it shortens a scripted run's timeout too (TIMEOUT)."""
    glue.create_job("slow", default_arguments={"--local-glue-duration": "30", "--local-glue-timeout-seconds": "0.5"})
    run = final_run(glue, "slow", start(glue, "slow"))
    assert run["JobRunState"] == "TIMEOUT"


def test_get_resolved_options_behaves_as_glues() -> None:
    """The awsglue stand-in reads `--k v` and `--k=v`, requires every option asked for, refuses reserved names, and
    is not importable as `awsglue` from the provider's own process."""
    argv = ["script.py", "--day=2026-01-01", "--my-key", "v", "--other", "x", "--TempDir", "s3://t"]
    resolved = getResolvedOptions(argv, ["day", "my-key"])
    assert (resolved["day"], resolved["my_key"], resolved["RedshiftTempDir"]) == ("2026-01-01", "v", "s3://t")
    assert "other" not in resolved
    assert resolved["job_bookmark_option"] == "job-bookmark-disable"
    with pytest.raises(GlueArgumentError, match="required: --missing"):
        getResolvedOptions(argv, ["missing"])
    with pytest.raises(RuntimeError, match="reserved"):
        getResolvedOptions(argv, ["JOB_RUN_ID"])
    assert "awsglue" not in sys.modules
    with pytest.raises(ModuleNotFoundError):
        __import__("awsglue")


@pytest.mark.slow
def test_forward_logs_brings_the_script_output_into_the_task_log(
    glue: LocalGlue,
    airflow_db: Path,
    tmp_path: Path,
    capfd: pytest.CaptureFixture[str],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """GlueJobRunOperator(forward_logs=True) in real Airflow (dag.test()) forwards what the script printed to
    stdout and stderr, found through the run's LogGroupName /aws-glue/python-jobs."""
    import re

    import pendulum
    from airflow.sdk import DAG
    from support import register_and_test

    from airflow_glue_runs._internal.glue_logs import forwarding as log_forwarding
    from airflow_glue_runs.operators import GlueJobRunOperator

    monkeypatch.setattr(log_forwarding, "INGEST_LAG", 0.0)
    monkeypatch.setattr(log_forwarding, "FINAL_FLUSH_GRACE", 1.0)
    script = "import sys\nprint('rows loaded: 42')\nprint('careful: a warning', file=sys.stderr)\n"
    job = shell_job(glue, tmp_path, script, name="shell_dag")
    start_date = pendulum.datetime(2026, 1, 1, tz="UTC")
    with DAG("shell_logs_dag", schedule=None, start_date=start_date) as dag:
        GlueJobRunOperator(task_id="t", job_name=job, forward_logs=True, poll_interval=0.2)
    assert register_and_test(dag, start_date).state == "success"
    lines = re.findall(r"\[glue ([^\]]+)\] (.*?) +\[[\w.]+\] loc=", capfd.readouterr().out)
    assert ("driver", "rows loaded: 42") in lines
    assert ("driver/error", "careful: a warning") in lines
