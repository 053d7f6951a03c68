"""The docs site's code samples: every code block is a file under docs/snippets/, and every such file is run here.

A page includes a sample with pymdownx.snippets (``--8<-- "file.py"`` or ``"file.py:section"``); ``make docs`` fails
on a missing file or section too, but it needs the ``docs`` extra, which ``make test`` does not install, so the
checks on includes are made here as well. DAG samples are parsed by Airflow's DagBag (and the first DAG runs with
``dag.test()``), hook and local-Glue samples run against a local Glue, the fixture samples run under pytest.
"""

from __future__ import annotations

import ast
import importlib.util
import io
import json
import os
import re
import runpy
import shlex
import shutil
import subprocess
import sys
import tarfile
from pathlib import Path
from types import ModuleType
from typing import TYPE_CHECKING, Any

import pytest
from airflow_versions import dag_bag
from support import register_and_test, s3_client

import airflow_glue_runs

if TYPE_CHECKING:
    from airflow_glue_runs.local_glue import LocalGlue

ROOT = Path(__file__).resolve().parent.parent
DOCS = ROOT / "docs"
SNIPPETS = DOCS / "snippets"
PAGES = sorted(path for path in DOCS.rglob("*.md") if SNIPPETS not in path.parents)

FENCE = re.compile(r"^```(\w*)\n(.*?)^```", re.MULTILINE | re.DOTALL)
INCLUDE = re.compile(r'^--8<-- "([^"]+)"$')
PROSE_FENCES = {"text", "mermaid"}
"""Fenced blocks that are output or diagrams, not code a reader would run."""

SITE_DAGS = {
    "first_dag.py": {"nightly_etl"},
    "operator_dag.py": {"docs_operator"},
    "sensor_dag.py": {"docs_sensor"},
    "job_result_dag.py": {"docs_job_result"},
    "job_definition_dag.py": {"docs_job_definition"},
    "asset_watcher_dag.py": {"refresh_reports"},
    "streaming_dag.py": {"docs_streaming"},
    "migration_native.py": {"docs_migration_before", "docs_migration_after"},
}


def code_blocks(text: str) -> list[tuple[str, str]]:
    """Return ``(language, body)`` of every fenced code block in Markdown ``text``."""
    return [(language, body) for language, body in FENCE.findall(text)]


def included() -> list[tuple[Path, str]]:
    """Return ``(page, include target)`` for every ``--8<--`` line of every page."""
    found = []
    for page in PAGES:
        for line in page.read_text().splitlines():
            match = INCLUDE.match(line.strip())
            if match:
                found.append((page, match.group(1)))
    return found


def snippet_text(target: str) -> str:
    """Return what ``--8<-- "target"`` puts on the page: a file of docs/snippets/ (or the repository), or a section."""
    path, _, section = target.partition(":")
    for base in (SNIPPETS, ROOT):
        if (base / path).is_file():
            lines = (base / path).read_text().splitlines()
            break
    else:
        raise FileNotFoundError(f"no snippet {path} in docs/snippets/ or the repository root")
    if not section:
        return "\n".join(line for line in lines if "--8<-- [" not in line)
    start, end = f"--8<-- [start:{section}]", f"--8<-- [end:{section}]"
    markers = [i for i, line in enumerate(lines) if line.strip().endswith((start, end))]
    if len(markers) != 2:
        raise LookupError(f"{path}: section {section!r} is not marked once with start and end")
    body = lines[markers[0] + 1 : markers[1]]
    indent = min(len(line) - len(line.lstrip()) for line in body if line.strip())
    return "\n".join(line[indent:] for line in body)


def test_every_code_block_on_the_site_is_an_included_file() -> None:
    """No page holds code of its own: each code block only includes snippet files, which these tests run."""
    inline = []
    for page in PAGES:
        for language, body in code_blocks(page.read_text()):
            if language in PROSE_FENCES:
                continue
            lines = [line for line in body.splitlines() if line.strip()]
            if not lines or not all(INCLUDE.match(line.strip()) for line in lines):
                inline.append(f"{page.relative_to(ROOT)}: a ```{language} block with code of its own")
    assert inline == []
    assert len(included()) > 20, "the include pattern found too few samples to be trusted"


def test_every_included_snippet_and_section_exists() -> None:
    """Every ``--8<--`` target names a file that exists and, with ``:section``, a section marked once."""
    missing = []
    for page, target in included():
        try:
            assert snippet_text(target).strip(), f"{target} is empty"
        except (FileNotFoundError, LookupError, AssertionError) as error:
            missing.append(f"{page.relative_to(ROOT)}: {error}")
    assert missing == []


def test_the_include_check_fails_on_a_missing_snippet() -> None:
    """The check above can fail: a target that names no file, or no section, raises."""
    with pytest.raises(FileNotFoundError):
        snippet_text("no_such_sample.py")
    with pytest.raises(LookupError):
        snippet_text("first_dag.py:no_such_section")


def test_every_snippet_file_is_on_a_page() -> None:
    """No sample is tested here but shown nowhere: each file of docs/snippets/ is included by some page."""
    used = {target.partition(":")[0] for _, target in included()}
    files = {str(path.relative_to(SNIPPETS)) for path in SNIPPETS.rglob("*") if path.is_file()}
    files = {name for name in files if "__pycache__" not in name}
    assert files - used == set()


def test_the_changelog_page_includes_the_changelog_file() -> None:
    """The changelog page is CHANGELOG.md itself, included, never a copy that could drift."""
    assert (DOCS / "changelog.md").read_text().strip() == '--8<-- "CHANGELOG.md"'


def readme_samples() -> list[tuple[str, str]]:
    return [(language, body) for language, body in code_blocks((ROOT / "README.md").read_text()) if language]


def test_readme_code_blocks_are_samples_the_site_tests() -> None:
    """Each code block of README.md is, line for line, a whole snippet file, so the landing page is tested too."""
    samples = {
        snippet_text(str(path.relative_to(SNIPPETS))).strip()
        for path in SNIPPETS.rglob("*")
        if path.is_file() and "__pycache__" not in path.parts
    }
    blocks = readme_samples()
    assert {language for language, _ in blocks} >= {"python", "bash"}
    assert [body.strip() for _, body in blocks if body.strip() not in samples] == []


def parse_dags(tmp_path: Path, names: list[str]) -> Any:
    """Copy the DAG samples into a folder of their own and parse it as the DAG processor would."""
    for name in names:
        shutil.copy(SNIPPETS / name, tmp_path / Path(name).name)
    return dag_bag(tmp_path)


def test_the_site_dag_samples_parse_with_airflow(tmp_path: Path) -> None:
    """Every DAG sample of the pages imports in Airflow's DagBag without errors and defines the DAGs it names."""
    bag = parse_dags(tmp_path, sorted(SITE_DAGS))
    assert bag.import_errors == {}
    for name, dag_ids in SITE_DAGS.items():
        assert {dag.dag_id for dag in bag.dags.values() if Path(dag.fileloc).name == name} == dag_ids
    define = bag.dags["docs_job_definition"]
    assert define.get_task("run_job").upstream_task_ids == {"define_job"}
    stream = bag.dags["docs_streaming"]
    assert (stream.get_task("start_stream").wait_until, stream.get_task("start_stream").running_for) == ("running", 300)
    assert stream.get_task("stream_is_up").wait_until == "running"


def test_the_testing_dag_samples_parse_with_airflow(tmp_path: Path) -> None:
    """The DAGs the fixture samples test parse, each with its one Glue task."""
    bag = parse_dags(
        tmp_path, sorted(str(path.relative_to(SNIPPETS)) for path in (SNIPPETS / "testing" / "dags").glob("*.py"))
    )
    assert bag.import_errors == {}
    assert {dag_id: dag.task_ids for dag_id, dag in bag.dags.items()} == {
        "nightly_etl": ["etl"],
        "nightly_export": ["export"],
        "nightly_events": ["etl"],
    }
    assert bag.dags["nightly_events"].get_task("etl").deferrable  # its test is about the triggerer's events


def test_the_hook_sample_runs_against_a_local_glue(monkeypatch: pytest.MonkeyPatch) -> None:
    """The hook page's sample, as written (region eu-west-1): one start, one read, a listing and a stop request."""
    from airflow_glue_runs.local_glue import LocalGlue

    with LocalGlue(region_name="eu-west-1") as glue:
        glue.create_job("nightly-etl", default_arguments={"--local-glue-duration": "30"})
        monkeypatch.setenv("AIRFLOW_CONN_AWS_DEFAULT", glue.airflow_connection())
        names = runpy.run_path(str(SNIPPETS / "hook_calls.py"))
        calls = glue.calls()
        run = glue.client().get_job_run(JobName="nightly-etl", RunId=names["run_id"])["JobRun"]
    assert (calls["StartJobRun"], calls["GetJobRun"], calls["BatchStopJobRun"]) == (1, 1, 1)
    assert names["result"].stopped == (names["run_id"],)
    assert {"--day": "2026-01-01", "--full-refresh": "true"}.items() <= run["Arguments"].items()
    assert (run["WorkerType"], run["NumberOfWorkers"], run["Timeout"]) == ("G.2X", 10, 120)


def test_the_local_glue_sample_runs(monkeypatch: pytest.MonkeyPatch) -> None:
    """The local Glue page's sample starts a server, creates a job, starts a run and stops the server."""
    monkeypatch.setenv("AIRFLOW_CONN_AWS_DEFAULT", "")  # the sample sets it; monkeypatch restores it afterwards
    names = runpy.run_path(str(SNIPPETS / "local_glue_usage.py"))
    assert names["run_id"].startswith("jr_")
    assert json.loads(os.environ["AIRFLOW_CONN_AWS_DEFAULT"])["extra"]["endpoint_url"].startswith("http://127.0.0.1:")
    with pytest.raises(RuntimeError, match="not started"):  # the with block stopped it
        _ = names["glue"].endpoint_url


def job_environment(glue: LocalGlue) -> dict[str, str]:
    """The environment of a script that calls AWS at the local Glue, as a Glue job's boto3 would."""
    return {
        **{key: value for key, value in os.environ.items() if not key.startswith("AWS_")},
        "AWS_ENDPOINT_URL": glue.endpoint_url,
        "AWS_DEFAULT_REGION": glue.region_name,
        "AWS_ACCESS_KEY_ID": "testing",
        "AWS_SECRET_ACCESS_KEY": "testing",
    }


def test_the_job_side_sample_writes_its_result(glue: LocalGlue, tmp_path: Path) -> None:
    """The Glue job's sample, run as Glue runs a script, writes its JSON object to the URI its task passes."""
    s3 = s3_client(glue)
    s3.create_bucket(Bucket="results")
    uri = "s3://results/airflow-glue-runs/dag/task/-1/abc.json"
    helper_dir = Path(airflow_glue_runs.__file__).parent  # where glue_job_result.py lives: as on --extra-py-files
    shutil.copy(helper_dir / "glue_job_result.py", tmp_path / "glue_job_result.py")
    script = tmp_path / "job.py"
    script.write_text(snippet_text("job_result_job.py"))
    subprocess.run(
        [sys.executable, str(script), "--airflow-glue-runs-result-uri", uri],
        env=job_environment(glue),
        cwd=tmp_path,
        check=True,
        capture_output=True,
        timeout=120,
    )
    body = s3.get_object(Bucket="results", Key="airflow-glue-runs/dag/task/-1/abc.json")["Body"].read()
    assert json.loads(body) == {"rows": 1234, "output": "s3://my-bucket/out/2026-01-01/"}


def test_the_helper_upload_sample_puts_the_helper_file_in_s3(glue: LocalGlue) -> None:
    """The job results page's upload sample copies the installed helper file to the key it names."""
    s3 = s3_client(glue)
    s3.create_bucket(Bucket="my-bucket")
    subprocess.run(
        [sys.executable, str(SNIPPETS / "upload_helper.py")],
        env=job_environment(glue),
        check=True,
        capture_output=True,
        timeout=120,
    )
    body = s3.get_object(Bucket="my-bucket", Key="glue-libs/glue_job_result.py")["Body"].read()
    assert body == (Path(airflow_glue_runs.__file__).parent / "glue_job_result.py").read_bytes()


def test_the_definition_return_value_sample_is_what_the_operator_returns() -> None:
    """The job definitions page's return value is the operator's XCom shape, built from the same values."""
    from airflow_glue_runs._internal.definitions.diff import FieldChange
    from airflow_glue_runs._internal.definitions.reconcile import DefinitionResult

    sample = ast.literal_eval(snippet_text("job_definition_return.py:value"))
    result = DefinitionResult(
        job_name="nightly-etl",
        action="updated",
        changes=(FieldChange("number_of_workers", 2, 5),),
        dry_run=False,
        script_location=sample["script_location"],
    )
    assert sample == result.to_xcom()


def test_the_connection_samples_are_connections_airflow_reads() -> None:
    """The retry settings sample is a connection extra with botocore retries; the shell sample's connection parses."""
    from airflow.models.connection import Connection

    extra = json.loads((SNIPPETS / "connection_retries.json").read_text())
    assert extra["config_kwargs"]["retries"] == {"mode": "adaptive", "max_attempts": 10}
    export = shlex.split((SNIPPETS / "aws_connection.sh").read_text().splitlines()[0])
    name, _, value = export[1].partition("=")
    assert name == "AIRFLOW_CONN_AWS_DEFAULT"
    connection = Connection.from_json(value, conn_id="aws_default")
    assert connection.conn_type == "aws"
    assert connection.extra_dejson["region_name"] == "eu-west-1"


def test_the_install_sample_names_the_newest_tested_airflow_and_a_real_extra() -> None:
    """The install sample's AIRFLOW_VERSION is the Airflow of the newest pinned set, and its extra exists."""
    install = (SNIPPETS / "install.sh").read_text()
    version = re.search(r"AIRFLOW_VERSION=(\S+)", install)
    pinned = re.search(r"^apache-airflow==(\S+)$", (ROOT / "constraints" / "airflow-3.3.txt").read_text(), re.M)
    assert version
    assert pinned
    assert version.group(1) == pinned.group(1)
    assert "pip install 'airflow-glue-runs[local]'" in install
    assert re.search(r"^local = \[", (ROOT / "pyproject.toml").read_text(), re.MULTILINE)


def test_the_two_commands_are_make_targets() -> None:
    """``make demo`` and ``make test``, as the samples write them, are targets make knows (dry run)."""
    commands = [line.split("#")[0].split() for line in (SNIPPETS / "two_commands.sh").read_text().splitlines()]
    assert commands == [["make", "demo"], ["make", "test"]]
    for command in commands:
        subprocess.run([*command, "-n"], cwd=ROOT, check=True, capture_output=True, timeout=60)


def load_docs_hooks() -> ModuleType:
    spec = importlib.util.spec_from_file_location("docs_hooks", ROOT / "scripts" / "docs_hooks.py")
    assert spec
    assert spec.loader
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def fake_tarball(member: str, content: bytes) -> bytes:
    out = io.BytesIO()
    with tarfile.open(fileobj=out, mode="w:gz") as archive:
        info = tarfile.TarInfo(member)
        info.size = len(content)
        archive.addfile(info, io.BytesIO(content))
    return out.getvalue()


def test_the_site_serves_mermaid_only_from_a_tarball_with_the_pinned_hash(tmp_path: Path) -> None:
    """The docs build takes Mermaid from a cached tarball whose SHA-512 matches; another one is refused and deleted."""
    hooks = load_docs_hooks()
    data = fake_tarball(hooks.MERMAID_MEMBER, b"window.mermaid = {};")
    cached = tmp_path / f"mermaid-tiny-{hooks.MERMAID_VERSION}.tgz"
    cached.write_bytes(data)
    assert hooks.mermaid_script(tmp_path, integrity=hooks.integrity_of(data)) == b"window.mermaid = {};"
    with pytest.raises(hooks.MermaidFetchError, match="is not the pinned"):
        hooks.mermaid_script(tmp_path)  # the real pin: this fake tarball is not it
    assert not cached.exists()
    assert hooks.tarball_url("https://registry.npmjs.org/").endswith(
        f"/@mermaid-js/tiny/-/tiny-{hooks.MERMAID_VERSION}.tgz"
    )
    config = (ROOT / "mkdocs.yml").read_text()
    assert hooks.SITE_PATH in config
    assert "unpkg" not in config
    assert "jsdelivr" not in config


@pytest.mark.slow
def test_the_first_dag_runs_against_the_local_glue(
    glue: LocalGlue, airflow_db: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The first DAG of Getting started and README runs to success with dag.test(): one Glue run, arguments sent."""
    from datetime import UTC, datetime

    monkeypatch.setenv("AIRFLOW_VAR_DB_PASSWORD", "s3cret-value")
    glue.create_job("nightly-etl", default_arguments={"--local-glue-duration": "0"})
    dag = parse_dags(tmp_path, ["first_dag.py"]).dags["nightly_etl"]
    dag_run = register_and_test(dag, datetime(2026, 1, 2, tzinfo=UTC))
    assert dag_run.state == "success"
    assert glue.calls()["StartJobRun"] == 1
    (run,) = glue.client().get_job_runs(JobName="nightly-etl")["JobRuns"]
    assert run["Arguments"]["--day"] == "2026-01-02"
    assert run["Arguments"]["--db-password"] == "s3cret-value"  # Glue gets it; the task shows it as ***


@pytest.mark.slow
def test_the_fixture_samples_pass_under_pytest(tmp_path: Path, airflow_db: Path) -> None:
    """The testing page's test files, with their DAGs and Glue script, pass under pytest as a user's project would."""
    shutil.copytree(SNIPPETS / "testing", tmp_path, dirs_exist_ok=True)
    environment = {key: value for key, value in os.environ.items() if key != "AIRFLOW_CONN_AWS_DEFAULT"}
    result = subprocess.run(
        [
            sys.executable,
            "-m",
            "pytest",
            "-q",
            "-p",
            "no:cacheprovider",
            "test_nightly_etl.py",
            "test_nightly_export.py",
            "test_nightly_events.py",
        ],
        cwd=tmp_path,
        env={
            **environment,
            "AIRFLOW__CORE__DAGS_FOLDER": str(tmp_path / "dags"),
            "PYTHONPATH": str(tmp_path / "dags"),
        },
        capture_output=True,
        text=True,
        timeout=600,
    )
    assert result.returncode == 0, result.stdout + result.stderr
    assert "4 passed" in result.stdout


def test_the_provider_and_the_package_metadata_point_at_the_site() -> None:
    """get_provider_info()'s documentation-url, pyproject's Documentation URL and mkdocs.yml's site_url agree."""
    from importlib.metadata import distribution

    urls = dict(entry.split(", ", 1) for entry in distribution("airflow-glue-runs").metadata.get_all("Project-URL"))
    site_url = re.search(r"^site_url: (\S+)$", (ROOT / "mkdocs.yml").read_text(), re.MULTILINE)
    assert site_url
    assert airflow_glue_runs.get_provider_info()["documentation-url"] == urls["Documentation"] == site_url.group(1)
