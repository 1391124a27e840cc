"""`make package` builds a deployable template offline; the template lints clean and holds what production needs.

Packaging runs once per module (it resolves Linux wheels from PyPI, which takes seconds); the checks that
need no package (config, policy files, table schema against the store's own ``create_table``) run alone.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import zipfile
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import yaml

from infra import policies
from infra.package import PackageError, package

ROOT = Path(__file__).resolve().parents[2]
STAGE = "prod"
# Chalice's logical id for each function (its CloudFormation resource name).
LOGICAL_IDS = {
    "api_handler": "APIHandler", "poll": "Poll", "aggregate": "Aggregate", "alerts": "Alerts", "ses_events": "SesEvents",
}
SECRET_ENV = ("FAIR_REPLY_X_BEARER_TOKEN", "FAIR_REPLY_REDDIT_CLIENT_ID", "FAIR_REPLY_REDDIT_CLIENT_SECRET",
              "FAIR_REPLY_SIGNING_KEY")


def _chalice_config() -> dict[str, Any]:
    return json.loads((ROOT / ".chalice" / "config.json").read_text(encoding="utf-8"))


def _merge_template() -> dict[str, Any]:
    """infra/template.yaml as Chalice itself reads it for merging (short-form tags become Ref / Fn::*)."""
    from chalice.package import YAMLTemplateSerializer

    text = (ROOT / "infra" / "template.yaml").read_text(encoding="utf-8")
    return YAMLTemplateSerializer().load_template(text, "infra/template.yaml")


@pytest.fixture(scope="module")
def built(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[dict[str, Any], Path, Path]]:
    # GIVEN the repository as it is, WHEN `make package` runs (without reinstalling the venv it runs in)
    out = tmp_path_factory.mktemp("package") / STAGE
    env = {k: v for k, v in os.environ.items() if not k.startswith("AWS_")}  # no AWS account, no credentials
    result = subprocess.run(
        ["make", "-s", "-o", ".venv/.installed", "package", f"STAGE={STAGE}", f"PACKAGE_OUT={out}",
         f"PY={sys.executable}"],
        cwd=ROOT, env=env, capture_output=True, text=True, timeout=540, check=False,
    )
    assert result.returncode == 0, f"make package failed:\n{result.stdout}\n{result.stderr}"
    template_path, zip_path = out / "sam.yaml", out / "deployment.zip"
    yield yaml.safe_load(template_path.read_text(encoding="utf-8")), template_path, zip_path


def _resources(template: dict[str, Any], type_: str) -> dict[str, dict[str, Any]]:
    return {k: v for k, v in template["Resources"].items() if v.get("Type") == type_}


def _refs(value: Any) -> set[str]:
    """Every logical id a CloudFormation value refers to (Ref, GetAtt, ${...} in Sub)."""
    if isinstance(value, dict):
        found: set[str] = set()
        for key, inner in value.items():
            if key == "Ref" and isinstance(inner, str):
                found.add(inner)
            elif key == "Fn::GetAtt":
                found.add(inner[0] if isinstance(inner, list) else inner.split(".")[0])
            elif key == "Fn::Sub":
                text = inner if isinstance(inner, str) else inner[0]
                found |= {part.split("}")[0].split(".")[0] for part in text.split("${")[1:]}
                if not isinstance(inner, str):
                    found |= _refs(inner[1])
            else:
                found |= _refs(inner)
        return found
    if isinstance(value, list):
        return set().union(*(_refs(v) for v in value)) if value else set()
    return set()


# -- the package ---------------------------------------------------------------------------------------------


def test_every_function_the_infra_expects_is_packaged(built: tuple[dict[str, Any], Path, Path]) -> None:
    template, _, _ = built
    # THEN each function infra/ configures (alarms, roles, names) is a function of the app
    functions = _resources(template, "AWS::Serverless::Function")
    missing = {name for name, logical in LOGICAL_IDS.items() if logical not in functions}
    assert not missing, f"app.py registers no Lambda function for {sorted(missing)} (see chalicelib/jobs/schedules.py)"


def test_packaged_template_lints_without_errors(built: tuple[dict[str, Any], Path, Path]) -> None:
    from cfnlint.api import lint_file

    _, template_path, _ = built
    matches = lint_file(template_path)
    errors = [str(m) for m in matches if m.rule.id.startswith("E")]
    warnings = [str(m) for m in matches if m.rule.id.startswith("W")]
    assert errors == []
    assert warnings == []


def test_zip_carries_the_app_and_the_operators_registry(built: tuple[dict[str, Any], Path, Path]) -> None:
    template, _, zip_path = built
    with zipfile.ZipFile(zip_path) as archive:
        names = set(archive.namelist())
        shipped_registry = archive.read("chalicelib/companies.toml")
    assert {"app.py", "chalicelib/config.py", "chalicelib/store/dynamodb.py"} <= names
    assert shipped_registry == (ROOT / "companies.toml").read_bytes()
    # and every function finds it where FAIR_REPLY_COMPANIES points
    for fn in _resources(template, "AWS::Serverless::Function").values():
        assert fn["Properties"]["Environment"]["Variables"]["FAIR_REPLY_COMPANIES"] == "chalicelib/companies.toml"


def test_zip_ships_the_registry_precompiled_so_a_cold_start_skips_toml(
    built: tuple[dict[str, Any], Path, Path], tmp_path: Path
) -> None:
    # GIVEN the packaged zip, unpacked where nothing can be written beside a cache
    _, _, zip_path = built
    with zipfile.ZipFile(zip_path) as archive:
        archive.extractall(tmp_path / "task")
    registry = tmp_path / "task" / "chalicelib" / "companies.toml"
    assert (tmp_path / "task" / "chalicelib" / "companies.registry.json").is_file()

    # WHEN a fresh interpreter loads the shipped registry, with a cache it cannot write
    code = (
        "import json, sys\n"
        "from chalicelib.registry import load_registry\n"
        f"companies = load_registry({str(registry)!r}, cache={str(tmp_path / 'missing' / 'cache.json')!r})\n"
        "print(json.dumps([sorted(companies), 'tomllib' in sys.modules]))"
    )
    out = subprocess.run([sys.executable, "-c", code], cwd=ROOT, capture_output=True, text=True, check=True).stdout
    slugs, parsed_toml = json.loads(out)

    # THEN it holds the operator's companies, read from the precompiled copy without importing tomllib
    from chalicelib.registry import load_registry

    assert slugs == sorted(load_registry(ROOT / "companies.toml"))
    assert parsed_toml is False


def test_zip_ships_bytecode_for_every_module(built: tuple[dict[str, Any], Path, Path]) -> None:
    # Lambda's code directory is read-only: without shipped .pyc every cold start recompiles chalicelib
    import sys

    _, _, zip_path = built
    tag = sys.implementation.cache_tag
    with zipfile.ZipFile(zip_path) as archive:
        names = set(archive.namelist())
    sources = {n for n in names if n.startswith("chalicelib/") and n.endswith(".py")}
    for source in sources:
        folder, _, module = source.rpartition("/")
        assert f"{folder}/__pycache__/{module[:-3]}.{tag}.pyc" in names, source


def test_stage_parameter_is_pinned_to_the_packaged_stage(built: tuple[dict[str, Any], Path, Path]) -> None:
    template, _, _ = built
    assert template["Parameters"]["Stage"]["AllowedValues"] == [STAGE]
    assert template["Parameters"]["Stage"]["Default"] == STAGE


def test_table_is_on_demand_recoverable_protected_and_expires_events(built: tuple[dict[str, Any], Path, Path]) -> None:
    template, _, _ = built
    (table,) = _resources(template, "AWS::DynamoDB::Table").values()
    props = table["Properties"]
    assert props["BillingMode"] == "PAY_PER_REQUEST"
    assert props["PointInTimeRecoverySpecification"] == {"PointInTimeRecoveryEnabled": True}
    assert props["DeletionProtectionEnabled"] is True
    assert table["DeletionPolicy"] == "Retain"
    from chalicelib.store import dynamodb

    assert props["TimeToLiveSpecification"]["Enabled"] is True
    # the attribute the store writes on expiring items
    assert props["TimeToLiveSpecification"]["AttributeName"] == "expires_at"
    assert dynamodb.EVENT_TTL.total_seconds() > 0


def test_functions_use_the_stack_table(built: tuple[dict[str, Any], Path, Path]) -> None:
    template, _, _ = built
    for name, fn in _resources(template, "AWS::Serverless::Function").items():
        variables = fn["Properties"]["Environment"]["Variables"]
        assert variables["FAIR_REPLY_TABLE"] == {"Ref": "Table"}, name
        assert variables["FAIR_REPLY_STORE"] == "dynamodb", name


def test_ses_bounces_and_complaints_reach_an_sns_topic(built: tuple[dict[str, Any], Path, Path]) -> None:
    template, _, _ = built
    (config_set_id,) = _resources(template, "AWS::SES::ConfigurationSet")
    (destination,) = _resources(template, "AWS::SES::ConfigurationSetEventDestination").values()
    event = destination["Properties"]["EventDestination"]
    assert destination["Properties"]["ConfigurationSetName"] == {"Ref": config_set_id}
    assert {"bounce", "complaint"} <= set(event["MatchingEventTypes"])
    topic = event["SnsDestination"]["TopicARN"]["Ref"]
    assert template["Resources"][topic]["Type"] == "AWS::SNS::Topic"
    # SES may publish to it, and the functions that send mail name the configuration set
    policies_on_topic = [
        p for p in _resources(template, "AWS::SNS::TopicPolicy").values() if {"Ref": topic} in p["Properties"]["Topics"]
    ]
    assert any(
        s["Principal"] == {"Service": "ses.amazonaws.com"}
        for p in policies_on_topic for s in p["Properties"]["PolicyDocument"]["Statement"]
    )
    # the app's SES feedback handler listens on that topic
    subscriptions = template["Resources"]["SesEvents"]["Properties"]["Events"].values()
    topics = [s["Properties"]["Topic"] for s in subscriptions if s["Type"] == "SNS"]
    assert len(topics) == 1 and len(topics[0]) == 1 and _refs(topics[0]) == {topic}
    for name in ("APIHandler", "Alerts"):
        variables = template["Resources"][name]["Properties"]["Environment"]["Variables"]
        assert variables["FAIR_REPLY_SES_CONFIGURATION_SET"] == {"Ref": config_set_id}


def test_secrets_are_referenced_by_ssm_name_never_by_value(built: tuple[dict[str, Any], Path, Path]) -> None:
    template, template_path, _ = built
    assert not _resources(template, "AWS::SSM::Parameter")  # SecureStrings are created by the operator
    prefix = f"/fair-reply/{STAGE}/"
    for name, fn in _resources(template, "AWS::Serverless::Function").items():
        variables = fn["Properties"]["Environment"]["Variables"]
        assert not set(SECRET_ENV) & set(variables), name
        for key, value in variables.items():
            if key.endswith("_SSM_PARAMETER"):
                assert key.removesuffix("_SSM_PARAMETER") in SECRET_ENV
                assert value.startswith(prefix), (name, key)
    poll_env = template["Resources"]["Poll"]["Properties"]["Environment"]["Variables"]
    assert poll_env["FAIR_REPLY_X_BEARER_TOKEN_SSM_PARAMETER"] == f"{prefix}x-bearer-token"


def test_alarms_cover_job_errors_poll_lag_and_throttles(built: tuple[dict[str, Any], Path, Path]) -> None:
    template, _, _ = built
    alarms = _resources(template, "AWS::CloudWatch::Alarm")

    def metric_alarms(metric: str) -> list[dict[str, Any]]:
        found = []
        for alarm in alarms.values():
            props = alarm["Properties"]
            stats = [props] + [q["MetricStat"]["Metric"] for q in props.get("Metrics", []) if "MetricStat" in q]
            if any(s.get("MetricName") == metric for s in stats):
                found.append(props)
        return found

    errors_on = set().union(*(_refs(a.get("Dimensions")) for a in metric_alarms("Errors")))
    assert set(LOGICAL_IDS.values()) <= errors_on
    assert metric_alarms("PollLagSeconds"), "no poll lag alarm"
    lambda_throttled = set().union(*(_refs(a["Metrics"]) for a in metric_alarms("Throttles")))
    assert set(LOGICAL_IDS.values()) <= lambda_throttled
    table_throttled = set().union(*(_refs(a["Metrics"]) for a in metric_alarms("WriteThrottleEvents")))
    assert "Table" in table_throttled
    for name, alarm in alarms.items():
        assert alarm["Properties"]["AlarmActions"] == [{"Ref": "AlarmTopic"}], name


def test_api_stage_is_throttled(built: tuple[dict[str, Any], Path, Path]) -> None:
    template, _, _ = built
    settings = template["Resources"]["RestAPI"]["Properties"]["MethodSettings"]
    everything = [s for s in settings if s["ResourcePath"] == "/*" and s["HttpMethod"] == "*"]
    assert everything and "ThrottlingRateLimit" in everything[0] and "ThrottlingBurstLimit" in everything[0]


def test_each_function_has_its_own_least_privilege_role(built: tuple[dict[str, Any], Path, Path]) -> None:
    template, _, _ = built
    functions = _resources(template, "AWS::Serverless::Function")
    roles = {name: fn["Properties"]["Role"]["Fn::GetAtt"][0] for name, fn in functions.items()}
    assert len(set(roles.values())) == len(roles), "functions share a role"
    table_arn = f"arn:aws:dynamodb:*:*:table/fair-reply-{STAGE}"
    for function, role in roles.items():
        statements = [
            s for p in template["Resources"][role]["Properties"]["Policies"] for s in p["PolicyDocument"]["Statement"]
        ]
        for s in statements:
            actions = s["Action"] if isinstance(s["Action"], list) else [s["Action"]]
            resources = s["Resource"] if isinstance(s["Resource"], list) else [s["Resource"]]
            assert not any(a == "*" or a.endswith(":*") for a in actions), (function, actions)
            # X-Ray's write actions support no resource-level scoping, so they alone may name "*"
            assert "*" not in resources or all(a.startswith("xray:") for a in actions), (function, s)
            if any(a.startswith("dynamodb:") for a in actions):
                assert set(resources) == {table_arn, f"{table_arn}/index/*"}, function
    # only the poll job may read the platform credentials
    poll_env = functions["Poll"]["Properties"]["Environment"]["Variables"]
    parameters = {v for k, v in poll_env.items() if k.endswith("_SSM_PARAMETER")}
    granted = {
        r.split(":parameter", 1)[1]
        for p in template["Resources"][roles["Poll"]]["Properties"]["Policies"]
        for s in p["PolicyDocument"]["Statement"] if "ssm:GetParameter" in s["Action"] for r in s["Resource"]
    }
    assert parameters and parameters <= granted


def test_tracing_is_active_on_every_function(built: tuple[dict[str, Any], Path, Path]) -> None:
    template, _, _ = built
    functions = _resources(template, "AWS::Serverless::Function")
    assert functions and all(fn["Properties"].get("Tracing") == "Active" for fn in functions.values())


def test_schedules_match_the_jobs_table(built: tuple[dict[str, Any], Path, Path]) -> None:
    from chalicelib.jobs.schedules import SCHEDULES

    template, _, _ = built
    for schedule in SCHEDULES:
        logical = "".join(part.capitalize() for part in schedule.name.split("_"))
        events = template["Resources"][logical]["Properties"]["Events"]
        rates = {e["Properties"]["Schedule"] for e in events.values() if e["Type"] == "Schedule"}
        unit = "minute" if schedule.minutes == 1 else "minutes"
        assert rates == {f"rate({schedule.minutes} {unit})"}


# -- sources of the package (no packaging needed) -------------------------------------------------------------


def test_infra_table_matches_the_stores_create_table() -> None:
    """Production's table (infra/) and the one tests and local setup create must be the same table."""
    from moto import mock_aws

    from chalicelib.store.dynamodb import create_table

    infra = _merge_template()["Resources"]["Table"]["Properties"]
    # GIVEN the table create_table makes
    with mock_aws():
        import boto3

        client = boto3.client("dynamodb", region_name="us-east-1")
        create_table(client, "fair-reply-test")
        made = client.describe_table(TableName="fair-reply-test")["Table"]
        ttl = client.describe_time_to_live(TableName="fair-reply-test")["TimeToLiveDescription"]

    def index_shape(indexes: list[dict[str, Any]]) -> dict[str, Any]:
        return {i["IndexName"]: (i["KeySchema"], i["Projection"]["ProjectionType"]) for i in indexes}

    # THEN keys, attribute types, indexes, billing and TTL agree
    assert infra["KeySchema"] == made["KeySchema"]
    assert sorted(infra["AttributeDefinitions"], key=str) == sorted(made["AttributeDefinitions"], key=str)
    assert index_shape(infra["GlobalSecondaryIndexes"]) == index_shape(made["GlobalSecondaryIndexes"])
    assert "LocalSecondaryIndexes" not in infra and not made.get("LocalSecondaryIndexes")
    assert made["BillingModeSummary"]["BillingMode"] == infra["BillingMode"]
    assert ttl["AttributeName"] == infra["TimeToLiveSpecification"]["AttributeName"]


def test_policy_files_are_generated_from_infra_policies() -> None:
    for stage in policies.STAGES:
        for function in policies.FUNCTIONS:
            path = policies.policy_path(stage, function)
            assert path.read_text(encoding="utf-8") == policies.render(policies.policy(stage, function)), (
                f"{path.name} is stale: run `python -m infra.policies`"
            )


@pytest.mark.parametrize("stage", ["dev", "prod"])
def test_each_stage_configures_every_function(stage: str) -> None:
    from chalicelib.config import load_settings
    from chalicelib.jobs.schedules import SCHEDULES

    config = _chalice_config()
    stage_cfg = config["stages"][stage]
    functions = stage_cfg["lambda_functions"]
    assert set(functions) == set(policies.FUNCTIONS)
    assert {s.name for s in SCHEDULES} <= set(functions), "a schedule has no memory/timeout/policy configured"
    periods = {s.name: s.minutes * 60 for s in SCHEDULES}
    for name, fn in functions.items():
        assert fn["lambda_memory_size"] >= 128 and fn["lambda_timeout"] >= 1, name
        assert fn["iam_policy_file"] == policies.policy_path(stage, name).name
        if name in periods:  # a run must end before the next one starts
            assert fn["lambda_timeout"] < periods[name], name
        if name == "api_handler":
            assert fn["lambda_timeout"] <= 29  # API Gateway gives up after 29 s
        # the environment each function gets is one the app accepts, pointing at this stage's resources
        env = {**config["environment_variables"], **stage_cfg["environment_variables"],
               **fn.get("environment_variables", {})}
        settings = load_settings(env)
        assert (settings.store, settings.table_name, settings.stage) == ("dynamodb", policies.table_name(stage), stage)
        assert env["FAIR_REPLY_SSM_PREFIX"] == policies.ssm_prefix(stage)
        if name in policies.SENDS_EMAIL:
            assert env["FAIR_REPLY_MAIL"] == "ses" and env["FAIR_REPLY_SES_CONFIGURATION_SET"] == f"fair-reply-{stage}"


def test_package_refuses_an_invalid_registry(tmp_path: Path) -> None:
    # GIVEN a registry the app would refuse to load
    bad = tmp_path / "companies.toml"
    bad.write_text('[companies.Bad_Slug]\nname = ""\n', encoding="utf-8")
    # WHEN packaging, THEN it stops before building anything, naming the problem
    with pytest.raises(PackageError, match="Bad_Slug"):
        package("prod", tmp_path / "out", bad)
    assert not (tmp_path / "out").exists()


def test_package_refuses_an_unknown_stage(tmp_path: Path) -> None:
    with pytest.raises(PackageError, match="staging"):
        package("staging", tmp_path / "out", ROOT / "companies.toml")
