"""Job arguments: dict, JSON and AWS CLI shorthand parsing, conversions, and secret masking."""

from __future__ import annotations

import pytest
from airflow_versions import airflow_redact

from airflow_glue_runs._internal.start.arguments import (
    MASK,
    check_secret_arguments,
    is_sensitive_name,
    mask_arguments,
    parse_arguments,
    parse_shorthand,
    prepare_arguments,
    register_secrets,
    secret_warning,
)
from airflow_glue_runs.exceptions import GlueJobRunParameterError


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("--day=2024-01-01,--mode=full", {"--day": "2024-01-01", "--mode": "full"}),
        ("Key1=v1,Key2=v2", {"Key1": "v1", "Key2": "v2"}),
        ('--list="a,b",--other=x', {"--list": "a,b", "--other": "x"}),
        ("--list='a,b'", {"--list": "a,b"}),
        (r"--q='it\'s',--d=" + r'"say \"hi\""', {"--q": "it's", "--d": 'say "hi"'}),
        (r"--path='C:\\tmp'", {"--path": "C:\\tmp"}),
        (r"--list=a\,b", {"--list": "a,b"}),
        ("--conf=spark.sql.shuffle.partitions=8", {"--conf": "spark.sql.shuffle.partitions=8"}),
        ("--empty=,--also=", {"--empty": "", "--also": ""}),
        ("--last=", {"--last": ""}),
        (" --a = with space  ,  --b=2 ", {"--a": "with space", "--b": "2"}),
        ("--a.b_c#d/e:f=1", {"--a.b_c#d/e:f": "1"}),
        ("--unicode=ünï😀", {"--unicode": "ünï😀"}),
        ("--json-ish={not json}", None),
    ],
)
def test_shorthand_like_the_cli(text: str, expected: dict[str, str] | None) -> None:
    """Shorthand follows the CLI: quotes and \\, keep commas, '=' stays in values, spaces are trimmed."""
    if expected is None:
        with pytest.raises(GlueJobRunParameterError, match="shorthand list or structure"):
            parse_shorthand(text)
    else:
        assert parse_shorthand(text) == expected


@pytest.mark.parametrize(
    ("text", "match"),
    [
        ("--a=b,c", r"continues after a comma; quote it"),
        ("--a=[x,y]", "shorthand list or structure"),
        ("--a=1,--a=2", "'--a' is given twice"),
        ('--a="unclosed', 'has no closing "'),
        ("--a", "expected '=' after an argument name, found the end"),
        ("=v", "expected an argument name"),
        ("--a=it's", "expected ',' between arguments"),
        ("--a=1;--b=2x", None),
    ],
)
def test_shorthand_errors(text: str, match: str | None) -> None:
    """Text the CLI would refuse or read as a list is refused, naming the argument and the position."""
    if match is None:
        # ';' is an ordinary value character for the CLI: one argument, not two.
        assert parse_shorthand(text) == {"--a": "1;--b=2x"}
        return
    with pytest.raises(GlueJobRunParameterError, match=match) as info:
        parse_shorthand(text)
    assert info.value.parameter == "arguments"
    assert "at character" in str(info.value)


def test_parse_arguments_forms() -> None:
    """A dict is copied, JSON objects and shorthand are parsed, empty text and None mean no arguments."""
    given = {"--a": 1}
    parsed = parse_arguments(given)
    assert parsed == given
    assert parsed is not given
    assert parse_arguments('  {"--a": "x", "--n": 3}') == {"--a": "x", "--n": 3}
    assert parse_arguments("--a=x") == {"--a": "x"}
    assert parse_arguments("   ") == {}
    assert parse_arguments(None) == {}


@pytest.mark.parametrize(
    ("value", "match"),
    [
        ("[1, 2]", "got a JSON list"),
        ('{"--a": ', "invalid JSON: Expecting value at character"),
        ('{"--a": 1', "invalid JSON"),
        (42, "expected a dict, JSON text or AWS CLI shorthand text"),
        (["--a=1"], "got list"),
    ],
)
def test_parse_arguments_refusals(value: object, match: str) -> None:
    """Anything but a mapping, a JSON object or shorthand is refused with the parameter named."""
    with pytest.raises(GlueJobRunParameterError, match=match) as info:
        parse_arguments(value)
    assert info.value.parameter == "arguments"


def test_errors_never_show_values() -> None:
    """Parse errors point at a position and a key, never at the text itself (it may hold a secret)."""
    for text in ('{"--password": "hunter2-secret"', "--password=hunter2-secret,oops", '--password="hunter2-secret'):
        with pytest.raises(GlueJobRunParameterError) as info:
            parse_arguments(text)
        assert "hunter2" not in str(info.value)


def test_prepare_converts_like_the_hook() -> None:
    """Values are converted by the hook's documented rules after parsing (JSON numbers become text)."""
    prepared = prepare_arguments('{"--n": 3, "--flag": true, "--cfg": {"a": [1]}}')
    assert prepared.values == {"--n": "3", "--flag": "true", "--cfg": '{"a":[1]}'}
    with pytest.raises(GlueJobRunParameterError, match="argument '--x' is None"):
        prepare_arguments({"--x": None})


def test_sensitive_names_follow_airflow() -> None:
    """Airflow's sensitive-name rules apply to argument names, dashes and case included."""
    for name in ("--db-password", "--API_KEY", "--token", "--client-secret", "--private-key", "passwd"):
        assert is_sensitive_name(name), name
    for name in ("--day", "--source", "--mode", "--partition"):
        assert not is_sensitive_name(name), name


@pytest.mark.parametrize("name", ["--api-key", "--private-key", "--db-password", "--access-token", "--webhook-url"])
def test_dashed_secret_names_are_masked_on_every_airflow_minor(name: str) -> None:
    """Dashes read as underscores by the provider's own rule, so these are secret whatever Airflow minor runs."""
    prepared = prepare_arguments({name: "s3cr3t-value", "--day": "1"})
    assert prepared.secret_keys == {name}
    assert prepared.masked() == {name: MASK, "--day": "1"}


def test_sensitive_var_conn_names_extends_the_list(monkeypatch: pytest.MonkeyPatch) -> None:
    """[core] sensitive_var_conn_names adds names; [core] hide_sensitive_var_conn_fields=False turns names off."""
    assert not is_sensitive_name("--warehouse-pin")
    monkeypatch.setenv("AIRFLOW__CORE__SENSITIVE_VAR_CONN_NAMES", "pin, other")
    assert is_sensitive_name("--warehouse-pin")
    monkeypatch.setenv("AIRFLOW__CORE__HIDE_SENSITIVE_VAR_CONN_FIELDS", "False")
    assert not is_sensitive_name("--db-password")


def test_secret_keys_by_name_and_by_list() -> None:
    """A value is secret when its name looks sensitive or the user lists it, with or without dashes."""
    prepared = prepare_arguments(
        {"--db-password": "pw-123456", "--conn-uri": "postgres://u:p@h/db", "--day": "2024-01-01", "plain": "x"},
        ["conn-uri"],
    )
    assert prepared.secret_keys == {"--db-password", "--conn-uri"}
    assert prepared.masked() == {"--db-password": MASK, "--conn-uri": MASK, "--day": "2024-01-01", "plain": "x"}
    assert prepared.values["--conn-uri"] == "postgres://u:p@h/db"
    assert prepared.keys_without_dashes() == ["plain"]


def test_mask_arguments_read_back_from_glue() -> None:
    """Arguments read back from Glue (job defaults included) are masked by the same rules."""
    assert mask_arguments({"--api-key": "k" * 8, "--listed": "v", "--x": "1"}, ["--listed"]) == {
        "--api-key": MASK,
        "--listed": MASK,
        "--x": "1",
    }


def test_registered_secrets_are_redacted_in_logs() -> None:
    """Secret values are registered with Airflow's masker, so a log line carrying one is redacted."""
    redact = airflow_redact()
    prepared = prepare_arguments({"--conn-uri": "jdbc:secret-host:5439/prod"}, ["--conn-uri"])
    register_secrets(prepared)
    assert redact("connecting to jdbc:secret-host:5439/prod now") == "connecting to *** now"


def test_secret_warning_names_keys_only() -> None:
    """The warning names the secret keys, says why and what to use instead, and never shows a value."""
    prepared = prepare_arguments({"--db-password": "hunter2-secret", "--day": "1"})
    warning = secret_warning(prepared)
    assert warning is not None
    assert "--db-password" in warning
    assert "hunter2" not in warning
    assert "sensitive_var_conn_names" in warning
    assert "Secrets Manager" in warning
    assert "Glue connection" in warning
    assert secret_warning(prepare_arguments({"--day": "1"})) is None


@pytest.mark.parametrize("value", ["--password", [""], [3], None])
def test_secret_arguments_must_be_a_list_of_names(value: object) -> None:
    """secret_arguments is a list of names; a bare string (a common slip) or empty names are refused."""
    with pytest.raises(GlueJobRunParameterError) as info:
        check_secret_arguments(value)
    assert info.value.parameter == "secret_arguments"
    assert check_secret_arguments(("--a", "b")) == ("--a", "b")
