"""Tests of the local Glue's job definitions (CreateJob, UpdateJob, DeleteJob, tags, Glue's defaults) and of S3,
STS and IAM at the same endpoint, through real boto3 clients."""

from __future__ import annotations

import urllib.request
from typing import Any

import pytest
from botocore.config import Config
from botocore.exceptions import ClientError
from support import aws_client

from airflow_glue_runs.local_glue import LocalGlue

NO_RETRIES = Config(retries={"total_max_attempts": 1})
SCRIPT = "s3://scripts/etl.py"
ETL = {"Role": "arn:aws:iam::123456789012:role/glue", "Command": {"Name": "glueetl", "ScriptLocation": SCRIPT}}


def job_arn(glue: LocalGlue, name: str) -> str:
    """Build a job's ARN as the job-definition operator does: the account from STS GetCallerIdentity."""
    account = aws_client(glue, "sts").get_caller_identity()["Account"]
    return f"arn:aws:glue:{glue.region_name}:{account}:job/{name}"


def error_code(raised: pytest.ExceptionInfo[ClientError]) -> tuple[str, int]:
    response: Any = raised.value.response
    return response["Error"]["Code"], response["ResponseMetadata"]["HTTPStatusCode"]


@pytest.fixture
def client(local_glue: LocalGlue) -> Any:
    return local_glue.client(config=NO_RETRIES)


def test_update_job_overwrites_the_whole_definition(local_glue: LocalGlue, client: Any) -> None:
    """UpdateJob unsets every field JobUpdate leaves out (then Glue's defaults again); runs and tags stay."""
    client.create_job(
        Name="etl",
        **ETL,
        Description="nightly",
        DefaultArguments={"--day": "1"},
        Timeout=60,
        MaxRetries=2,
        JobMode="SCRIPT",
        Tags={"team": "data"},
    )
    before = client.get_job(JobName="etl")["Job"]
    run_id = client.start_job_run(JobName="etl")["JobRunId"]
    update = {**ETL, "GlueVersion": "5.0", "WorkerType": "G.2X", "NumberOfWorkers": 4}
    assert client.update_job(JobName="etl", JobUpdate=update)["JobName"] == "etl"
    job = client.get_job(JobName="etl")["Job"]
    assert {"Description", "JobMode"}.isdisjoint(job)
    assert not job.get("DefaultArguments")
    assert (job["Timeout"], job["MaxRetries"], job["MaxCapacity"]) == (480, 0, 8.0)
    assert (job["GlueVersion"], job["WorkerType"], job["NumberOfWorkers"]) == ("5.0", "G.2X", 4)
    assert job["CreatedOn"] == before["CreatedOn"]
    assert job["LastModifiedOn"] > before["LastModifiedOn"]
    assert [run["Id"] for run in client.get_job_runs(JobName="etl")["JobRuns"]] == [run_id]
    assert client.get_tags(ResourceArn=job_arn(local_glue, "etl"))["Tags"] == {"team": "data"}
    assert local_glue.calls()["UpdateJob"] == 1


def test_update_job_of_a_missing_job_is_entity_not_found(local_glue: LocalGlue, client: Any) -> None:
    """UpdateJob on a job that does not exist raises EntityNotFoundException (400) and creates nothing."""
    with pytest.raises(ClientError) as raised:
        client.update_job(JobName="nope", JobUpdate=ETL)
    assert error_code(raised) == ("EntityNotFoundException", 400)
    assert client.list_jobs()["JobNames"] == []
    assert local_glue.calls() == {"UpdateJob": 1, "ListJobs": 1}


@pytest.mark.parametrize(
    "sizing",
    [
        {"WorkerType": "G.1X", "NumberOfWorkers": 2, "MaxCapacity": 2.0},
        {"WorkerType": "G.1X"},
        {"NumberOfWorkers": 2},
        {"AllocatedCapacity": 2, "MaxCapacity": 2.0},
    ],
)
def test_invalid_sizing_is_invalid_input(client: Any, sizing: dict[str, Any]) -> None:
    """CreateJob and UpdateJob reject sizings Glue rejects (e.g. WorkerType with MaxCapacity) and change nothing."""
    with pytest.raises(ClientError) as raised:
        client.create_job(Name="sized", **ETL, **sizing)
    assert error_code(raised) == ("InvalidInputException", 400)
    client.create_job(Name="sized", **ETL, Timeout=30)
    with pytest.raises(ClientError) as raised:
        client.update_job(JobName="sized", JobUpdate={**ETL, **sizing})
    assert error_code(raised) == ("InvalidInputException", 400)
    assert client.get_job(JobName="sized")["Job"]["Timeout"] == 30


def test_create_job_on_an_existing_name_is_already_exists(local_glue: LocalGlue, client: Any) -> None:
    """A second CreateJob of a name raises AlreadyExistsException; the first job and its runs are untouched."""
    client.create_job(Name="etl", **ETL, Description="first")
    client.start_job_run(JobName="etl")
    with pytest.raises(ClientError) as raised:
        client.create_job(Name="etl", **ETL, Description="second")
    assert error_code(raised) == ("AlreadyExistsException", 400)
    assert client.get_job(JobName="etl")["Job"]["Description"] == "first"
    assert local_glue.run_count("etl") == 1
    assert local_glue.calls()["CreateJob"] == 2


@pytest.mark.parametrize(
    ("definition", "timeout", "python_version", "max_capacity"),
    [
        ({"GlueVersion": "4.0", "WorkerType": "G.1X", "NumberOfWorkers": 10}, 2880, "3", 10.0),
        ({"GlueVersion": "5.0", "WorkerType": "G.025X", "NumberOfWorkers": 2}, 480, "3", 0.5),
        ({"WorkerType": "Standard", "NumberOfWorkers": 3}, 2880, "3", 3.0),
        ({"GlueVersion": "3.0", "MaxCapacity": 5.0, "Timeout": 90}, 90, "3", 5.0),
        ({"Command": {"Name": "gluestreaming", "ScriptLocation": SCRIPT}, "GlueVersion": "4.0"}, 2880, "3", None),
        ({"Command": {"Name": "pythonshell", "ScriptLocation": SCRIPT}, "GlueVersion": "3.0"}, 2880, "3.9", None),
        ({"Command": {"Name": "pythonshell", "ScriptLocation": SCRIPT, "PythonVersion": "3"}}, 2880, "3", None),
        ({"Command": {"Name": "glueray", "ScriptLocation": SCRIPT}, "GlueVersion": "4.0"}, 2880, None, None),
    ],
)
def test_get_job_reports_what_glue_fills_in(
    client: Any, definition: dict[str, Any], timeout: int, python_version: str | None, max_capacity: float | None
) -> None:
    """GetJob fills Timeout by GlueVersion, PythonVersion by command, MaxCapacity of workers, MaxRetries 0..."""
    client.create_job(Name="filled", **{**ETL, **definition})
    job = client.get_job(JobName="filled")["Job"]
    assert (job["Timeout"], job["Command"].get("PythonVersion"), job.get("MaxCapacity")) == (
        timeout,
        python_version,
        max_capacity,
    )
    assert (job["MaxRetries"], job["ExecutionProperty"], job["ExecutionClass"]) == (
        0,
        {"MaxConcurrentRuns": 1},
        "STANDARD",
    )
    assert "AllocatedCapacity" not in job


def test_runs_see_the_filled_job(client: Any) -> None:
    """A run of a Glue 5.0 job without a Timeout gets the 480 minutes GetJob reports, and its MaxCapacity."""
    client.create_job(Name="five", **ETL, GlueVersion="5.0", WorkerType="G.2X", NumberOfWorkers=2)
    run_id = client.start_job_run(JobName="five")["JobRunId"]
    run = client.get_job_run(JobName="five", RunId=run_id)["JobRun"]
    assert (run["Timeout"], run["MaxCapacity"]) == (480, 4.0)


def test_fields_moto_lacks_round_trip(client: Any) -> None:
    """Definition fields moto's job has no attribute for (JobMode, MaintenanceWindow...) come back from GetJob."""
    extra = {"JobMode": "VISUAL", "JobRunQueuingEnabled": True, "MaintenanceWindow": "Sun:01"}
    client.create_job(Name="streaming", **ETL, **extra)
    job = client.get_job(JobName="streaming")["Job"]
    assert {key: job[key] for key in extra} == extra
    assert client.get_jobs()["Jobs"] == [job]


def test_delete_job_drops_its_tags(local_glue: LocalGlue, client: Any) -> None:
    """DeleteJob takes the job's tags along: a new job of that name starts untagged."""
    client.create_job(Name="tagged", **ETL, Tags={"team": "data"})
    client.delete_job(JobName="tagged")
    client.create_job(Name="tagged", **ETL)
    assert client.get_tags(ResourceArn=job_arn(local_glue, "tagged"))["Tags"] == {}


def test_tags_of_a_missing_job_are_entity_not_found(local_glue: LocalGlue, client: Any) -> None:
    """GetTags, TagResource and UntagResource on a missing job's ARN (or another account's) raise EntityNotFound."""
    arn = job_arn(local_glue, "ghost")
    other_account = ":".join(
        ["000000000000" if i == 4 else part for i, part in enumerate(job_arn(local_glue, "real").split(":"))]
    )
    calls = [
        lambda arn: client.get_tags(ResourceArn=arn),
        lambda arn: client.tag_resource(ResourceArn=arn, TagsToAdd={"a": "1"}),
        lambda arn: client.untag_resource(ResourceArn=arn, TagsToRemove=["a"]),
    ]
    client.create_job(Name="real", **ETL)
    for call in calls:
        for missing in (arn, other_account):
            with pytest.raises(ClientError) as raised:
                call(missing)
            assert error_code(raised) == ("EntityNotFoundException", 400)
    assert {op: local_glue.calls()[op] for op in ("GetTags", "TagResource", "UntagResource")} == dict.fromkeys(
        ("GetTags", "TagResource", "UntagResource"), 2
    )


def test_sts_answers_each_local_glue_account(local_glue: LocalGlue, client: Any) -> None:
    """STS GetCallerIdentity answers each LocalGlue's own account, so the ARN built from it tags the job."""
    with LocalGlue() as other:
        accounts = [aws_client(glue, "sts").get_caller_identity()["Account"] for glue in (local_glue, other)]
        assert accounts[0] != accounts[1]
        assert other.calls() == {"GetCallerIdentity": 1}
    client.create_job(Name="etl", **ETL)
    arn = job_arn(local_glue, "etl")
    client.tag_resource(ResourceArn=arn, TagsToAdd={"owner": "me"})
    assert client.get_job(JobName="etl")["Job"]["Name"] == "etl"
    assert client.get_tags(ResourceArn=arn)["Tags"] == {"owner": "me"}
    assert arn.split(":")[4] == accounts[0]
    assert local_glue.calls()["GetCallerIdentity"] == 2


def test_s3_calls_are_counted_by_operation(local_glue: LocalGlue) -> None:
    """S3 calls (path style) reach moto in the LocalGlue's account and are counted by S3 operation name."""
    s3 = aws_client(local_glue, "s3")
    s3.create_bucket(Bucket="scripts")
    s3.head_bucket(Bucket="scripts")
    s3.put_object(Bucket="scripts", Key="jobs/etl.py", Body=b"print('hi')")
    assert s3.head_object(Bucket="scripts", Key="jobs/etl.py")["ContentLength"] == 11
    assert s3.get_object(Bucket="scripts", Key="jobs/etl.py")["Body"].read() == b"print('hi')"
    assert [item["Key"] for item in s3.list_objects_v2(Bucket="scripts", Prefix="")["Contents"]] == ["jobs/etl.py"]
    s3.delete_object(Bucket="scripts", Key="jobs/etl.py")
    aws_client(local_glue, "iam").create_role(RoleName="glue", AssumeRolePolicyDocument="{}")
    assert local_glue.calls() == dict.fromkeys(
        ("CreateBucket", "HeadBucket", "PutObject", "HeadObject", "GetObject", "ListObjectsV2", "DeleteObject"), 1
    ) | {"CreateRole": 1}


def test_s3_copies_multipart_and_presigned_urls_are_named(local_glue: LocalGlue) -> None:
    """CopyObject, a multipart upload, tagging and a presigned GET are counted by their S3 operation names."""
    s3 = aws_client(local_glue, "s3")
    s3.create_bucket(Bucket="scripts")
    s3.put_object(Bucket="scripts", Key="a.py", Body=b"a")
    s3.copy_object(Bucket="scripts", Key="b.py", CopySource={"Bucket": "scripts", "Key": "a.py"})
    upload = s3.create_multipart_upload(Bucket="scripts", Key="big.py")["UploadId"]
    etag = s3.upload_part(Bucket="scripts", Key="big.py", UploadId=upload, PartNumber=1, Body=b"x")["ETag"]
    parts = {"Parts": [{"ETag": etag, "PartNumber": 1}]}
    s3.complete_multipart_upload(Bucket="scripts", Key="big.py", UploadId=upload, MultipartUpload=parts)
    s3.put_object_tagging(Bucket="scripts", Key="a.py", Tagging={"TagSet": [{"Key": "k", "Value": "v"}]})
    url = s3.generate_presigned_url("get_object", Params={"Bucket": "scripts", "Key": "b.py"})
    with urllib.request.urlopen(url) as answer:
        assert answer.read() == b"a"
    assert local_glue.calls() == dict.fromkeys(
        ("CreateBucket", "PutObject", "CopyObject", "CreateMultipartUpload", "UploadPart", "CompleteMultipartUpload"), 1
    ) | {"PutObjectTagging": 1, "GetObject": 1}


def test_s3_virtual_host_style_works_and_is_counted(local_glue: LocalGlue) -> None:
    """A virtual-host style client (bucket.localhost:PORT, sent through the endpoint as its proxy) works alike."""
    port = local_glue.endpoint_url.rsplit(":", 1)[1]
    config = Config(s3={"addressing_style": "virtual"}, proxies={"http": local_glue.endpoint_url})
    s3 = aws_client(local_glue, "s3", endpoint_url=f"http://localhost:{port}", config=config)
    urls: list[str] = []
    s3.meta.events.register("before-send", lambda request, **_: urls.append(request.url))
    s3.create_bucket(Bucket="vhost")
    s3.put_object(Bucket="vhost", Key="etl.py", Body=b"x")
    assert s3.head_object(Bucket="vhost", Key="etl.py")["ContentLength"] == 1
    assert urls[-1] == f"http://vhost.localhost:{port}/etl.py"
    assert aws_client(local_glue, "s3").get_object(Bucket="vhost", Key="etl.py")["Body"].read() == b"x"
    assert local_glue.calls() == {"CreateBucket": 1, "PutObject": 1, "HeadObject": 1, "GetObject": 1}


def test_put_object_if_none_match_fails_on_an_existing_key(local_glue: LocalGlue) -> None:
    """PutObject(IfNoneMatch="*") on an existing key is 412 PreconditionFailed and keeps the first object."""
    s3 = aws_client(local_glue, "s3")
    s3.create_bucket(Bucket="scripts")
    s3.put_object(Bucket="scripts", Key="etl.py", Body=b"first", IfNoneMatch="*")
    with pytest.raises(ClientError) as raised:
        s3.put_object(Bucket="scripts", Key="etl.py", Body=b"second", IfNoneMatch="*")
    assert error_code(raised) == ("PreconditionFailed", 412)
    assert s3.get_object(Bucket="scripts", Key="etl.py")["Body"].read() == b"first"
    assert local_glue.calls()["PutObject"] == 2


def test_reset_forgets_the_buckets_of_its_account_only(local_glue: LocalGlue) -> None:
    """reset() deletes this LocalGlue's buckets (the name is free again) and leaves another LocalGlue's objects."""
    with LocalGlue() as other:
        theirs = aws_client(other, "s3")
        theirs.create_bucket(Bucket="theirs")
        theirs.put_object(Bucket="theirs", Key="k", Body=b"kept")
        aws_client(local_glue, "s3").create_bucket(Bucket="mine")
        local_glue.reset()
        with pytest.raises(ClientError) as raised:
            aws_client(local_glue, "s3").create_bucket(Bucket="theirs")
        assert error_code(raised)[0] == "BucketAlreadyExists"
        theirs.create_bucket(Bucket="mine")
        assert theirs.get_object(Bucket="theirs", Key="k")["Body"].read() == b"kept"


def test_control_create_job_replaces_and_sets_non_overridable_arguments(local_glue: LocalGlue, client: Any) -> None:
    """LocalGlue.create_job replaces a job (runs and tags too) in one control call, NonOverridableArguments set."""
    local_glue.create_job("etl", default_arguments={"--mode": "full"})
    client.start_job_run(JobName="etl")
    client.tag_resource(ResourceArn=job_arn(local_glue, "etl"), TagsToAdd={"old": "1"})
    local_glue.reset_counters()
    local_glue.create_job("etl", default_arguments={"--mode": "delta"}, non_overridable_arguments={"--env": "prod"})
    assert local_glue.calls() == {}
    assert local_glue.run_count("etl") == 0
    job = client.get_job(JobName="etl")["Job"]
    assert (job["DefaultArguments"], job["NonOverridableArguments"]) == ({"--mode": "delta"}, {"--env": "prod"})
    assert (job["WorkerType"], job["NumberOfWorkers"], job["MaxCapacity"], job["Timeout"]) == ("G.1X", 2, 2.0, 2880)
    run_id = client.start_job_run(JobName="etl", Arguments={"--env": "dev"})["JobRunId"]
    assert client.get_job_run(JobName="etl", RunId=run_id)["JobRun"]["Arguments"]["--env"] == "prod"
    assert client.get_tags(ResourceArn=job_arn(local_glue, "etl"))["Tags"] == {}


def test_control_create_job_without_worker_type(local_glue: LocalGlue, client: Any) -> None:
    """A control job with worker_type=None has neither WorkerType nor NumberOfWorkers (a MaxCapacity job)."""
    local_glue.create_job("legacy", worker_type=None)
    job = client.get_job(JobName="legacy")["Job"]
    assert {"WorkerType", "NumberOfWorkers", "MaxCapacity"}.isdisjoint(job)


WRITES = {
    "UpdateJob": lambda client: client.update_job(JobName="etl", JobUpdate={**ETL, "Description": "after"}),
    "CreateJob": lambda client: client.create_job(Name="other", **ETL),
}


@pytest.mark.parametrize(
    ("operation", "code"),
    [("UpdateJob", "ConcurrentModificationException"), ("CreateJob", "AlreadyExistsException")],
)
def test_injected_job_definition_faults_are_not_retried(local_glue: LocalGlue, operation: str, code: str) -> None:
    """The two new fault codes reach botocore as ClientErrors that standard retries do not retry."""
    retrying = local_glue.client(config=Config(retries={"mode": "standard", "total_max_attempts": 3}))
    retrying.create_job(Name="etl", **ETL, Description="before")
    local_glue.inject_fault(operation, code)
    with pytest.raises(ClientError) as raised:
        WRITES[operation](retrying)
    assert error_code(raised) == (code, 400)
    assert local_glue.calls()[operation] == (1 if operation == "UpdateJob" else 2)
    assert retrying.get_job(JobName="etl")["Job"]["Description"] == "before"
    assert retrying.list_jobs()["JobNames"] == ["etl"]
