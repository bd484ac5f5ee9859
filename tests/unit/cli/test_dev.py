"""Pure parts of `conveyor dev`: option precedence, port claims and messages, env contract, banner."""

import argparse
from pathlib import Path

import pytest

from conveyor_cli.dev import (
    COMPAT_TRUST_DEFAULT,
    NATS_SYNC_DEFAULT,
    SERVICES,
    STACK,
    DevOptions,
    OptionError,
    ServiceSpec,
    add_option_arguments,
    banner,
    check_ports,
    duplicate_port_message,
    http_port,
    port_claims,
    port_in_use_error,
    resolve_options,
    service_env,
)

CWD = Path("/home/dev/conveyor")
_FIELDS = ("data_dir", "bind", "api_port", "nats_port", "pg_port", "health_port_base", "compat_ports", "compat_trust")


def flags(**values: str) -> argparse.Namespace:
    """What argparse yields: every option present, None when the flag was not given."""
    return argparse.Namespace(**{field: values.get(field) for field in _FIELDS})


def options(*, bind: str = "127.0.0.1", api_port: int = 8080) -> DevOptions:
    return DevOptions(
        data_dir=CWD / ".data", bind=bind, api_port=api_port, nats_port=4222, pg_port=5433, health_port_base=8081,
        compat_ports=(("coalition", 19211),), compat_trust=COMPAT_TRUST_DEFAULT,
    )  # fmt: skip


def test_defaults_apply_without_flags_or_environment() -> None:
    assert resolve_options(flags(), {}, CWD) == options()


def test_environment_overrides_default() -> None:
    env = {"CONVEYOR_API_PORT": "9000", "CONVEYOR_BIND": "0.0.0.0", "CONVEYOR_DATA_DIR": "/srv/conveyor"}

    resolved = resolve_options(flags(), env, CWD)

    assert (resolved.api_port, resolved.bind, resolved.data_dir) == (9000, "0.0.0.0", Path("/srv/conveyor"))


def test_flag_overrides_environment() -> None:
    env = {"CONVEYOR_PG_PORT": "6000", "CONVEYOR_NATS_PORT": "5000", "CONVEYOR_HEALTH_PORT_BASE": "9100"}

    resolved = resolve_options(flags(pg_port="7000", health_port_base="9200"), env, CWD)

    assert (resolved.pg_port, resolved.nats_port, resolved.health_port_base) == (7000, 5000, 9200)


def test_empty_environment_variable_counts_as_unset() -> None:
    assert resolve_options(flags(), {"CONVEYOR_API_PORT": ""}, CWD).api_port == 8080


def test_relative_data_dir_is_relative_to_cwd() -> None:
    assert resolve_options(flags(data_dir="state"), {}, CWD).data_dir == CWD / "state"


@pytest.mark.parametrize(
    ("args", "env", "named"),
    [
        (flags(api_port="http"), {}, "--api-port"),
        (flags(), {"CONVEYOR_NATS_PORT": "70000"}, "CONVEYOR_NATS_PORT"),
        (flags(pg_port="0"), {}, "--pg-port"),
        (flags(health_port_base="65535"), {}, "--health-port-base"),
    ],
)
def test_invalid_port_names_its_source(args: argparse.Namespace, env: dict[str, str], named: str) -> None:
    with pytest.raises(OptionError, match=named):
        resolve_options(args, env, CWD)


def test_gateway_serves_the_api_port_and_others_their_health_port() -> None:
    ports = {spec.name: http_port(spec, options()) for spec in SERVICES}

    assert ports == {"scheduler": 8081, "gateway": 8080, "log-collector": 8082, "hook-dispatcher": 8083}


def test_services_start_in_the_documented_order() -> None:
    assert [spec.module for spec in SERVICES] == [
        "conveyor_scheduler", "conveyor_gateway", "conveyor_logs", "conveyor_hooks",
    ]  # fmt: skip
    assert SERVICES[0].command("/venv/bin/python") == ["/venv/bin/python", "-m", "conveyor_scheduler"]


def test_port_claims_cover_infrastructure_and_every_service() -> None:
    claims = port_claims(options(bind="0.0.0.0"))

    assert [(c.port, c.host) for c in claims] == [
        (4222, "127.0.0.1"), (5433, "127.0.0.1"), (19211, "0.0.0.0"),  # coalition's own port
        (8081, "0.0.0.0"), (8080, "0.0.0.0"), (8082, "0.0.0.0"), (8083, "0.0.0.0"), (8084, "0.0.0.0"),
    ]  # fmt: skip
    assert duplicate_port_message(claims) is None


def test_port_in_use_message_names_port_role_and_setting() -> None:
    api = next(c for c in port_claims(options()) if c.port == 8080)

    message = str(port_in_use_error(api))

    assert "port 8080" in message
    assert "HTTP API" in message
    assert "--api-port" in message and "CONVEYOR_API_PORT" in message
    assert "\n" not in message


def test_check_ports_reports_the_first_taken_port() -> None:
    taken = {5433, 8082}

    with pytest.raises(Exception, match=r"port 5433 .*PostgreSQL.*--pg-port or CONVEYOR_PG_PORT"):
        check_ports(port_claims(options()), is_free=lambda host, port: port not in taken)


def test_same_port_for_two_roles_is_reported() -> None:
    message = duplicate_port_message(port_claims(options(api_port=8082)))

    assert message is not None
    assert "8082" in message and "--api-port" in message and "--health-port-base" in message


def test_service_env_follows_the_contract_and_keeps_the_parent_environment() -> None:
    gateway = next(spec for spec in SERVICES if spec.module == "conveyor_gateway")
    parent = {"PATH": "/usr/bin", "CONVEYOR_HTTP_PORT": "1", "CONVEYOR_NATS_URL": "nats://elsewhere:1"}

    env = service_env(
        gateway, options(bind="0.0.0.0"), nats_url="nats://127.0.0.1:4222",
        database_url="postgresql://postgres@127.0.0.1:5433/conveyor", parent=parent,
    )  # fmt: skip

    assert env["PATH"] == "/usr/bin"
    assert env["CONVEYOR_NATS_URL"] == "nats://127.0.0.1:4222"
    assert env["CONVEYOR_DATABASE_URL"] == "postgresql://postgres@127.0.0.1:5433/conveyor"
    assert env["CONVEYOR_BIND"] == "0.0.0.0"
    assert env["CONVEYOR_HTTP_PORT"] == "8080"
    assert env["CONVEYOR_LOG_JSON"] == "1"


def test_the_stack_worker_finds_the_api_and_keeps_its_credentials_in_the_data_dir() -> None:
    [worker] = [spec for spec in STACK if spec.is_worker]
    parent = {"PATH": "/usr/bin", "CONVEYOR_TOKEN": "cvy_admin", "CONVEYOR_WORKER_LABELS": "gpu"}

    env = service_env(worker, options(), nats_url="nats://n", database_url="postgresql://d", parent=parent)
    gateway = next(spec for spec in SERVICES if spec.module == "conveyor_gateway")
    gateway_env = service_env(gateway, options(), nats_url="nats://n", database_url="d", parent={})

    assert worker.command("py")[:4] == ["py", "-m", "conveyor_cli", "worker"]
    assert env["CONVEYOR_URL"] == "http://127.0.0.1:8080"
    assert env["CONVEYOR_WORKER_HEALTH_PORT"] == "8084"
    assert env["CONVEYOR_WORKER_CREDENTIALS"] == str(CWD / ".data" / "worker" / "credentials.json")
    assert env["CONVEYOR_WORKER_DIR"] == str(CWD / ".data" / "worker" / "work")
    # A worker holds its own credentials, no token and no infrastructure URL: its jobs could read them.
    assert "CONVEYOR_TOKEN" not in env and "CONVEYOR_NATS_URL" not in env and "CONVEYOR_DATABASE_URL" not in env
    assert "postgresql://d" not in env.values() and "nats://n" not in env.values()
    assert (env["PATH"], env["CONVEYOR_WORKER_LABELS"]) == ("/usr/bin", "gpu")  # its own options pass
    assert "CONVEYOR_URL" not in gateway_env


def test_a_worker_added_to_the_stack_gets_a_health_port_claim() -> None:
    worker = ServiceSpec(name="worker", module="conveyor_cli", args=("worker",), health_slot=3)

    claims = port_claims(options(), services=(*SERVICES, worker))

    assert claims[-1].port == 8084
    assert worker.command("py") == ["py", "-m", "conveyor_cli", "worker"]


def test_banner_shows_api_docs_data_and_first_job_curls() -> None:
    text = banner(options(), pg_data_dir=CWD / ".data" / "postgres")

    assert "http://127.0.0.1:8080/docs" in text
    assert str(CWD / ".data" / "logs") in text
    assert (
        'curl -s -X POST http://127.0.0.1:8080/v1/jobs -H "Authorization: Bearer $TOKEN" '
        "-H 'content-type: application/json' "
        """-d '{"project":"demo","title":"hello","command":"echo hello"}'"""
    ) in text
    assert 'curl -s -H "Authorization: Bearer $TOKEN" http://127.0.0.1:8080/v1/jobs/<id>' in text
    assert "PostgreSQL data" not in text


def test_banner_says_where_relocated_postgres_data_lives() -> None:
    text = banner(options(bind="0.0.0.0"), pg_data_dir=Path("/var/tmp/conveyor-pg-abc"))

    assert "/var/tmp/conveyor-pg-abc" in text
    assert "http://127.0.0.1:8080" in text


def test_the_nats_sync_policy_is_always_an_interval_or_refused(tmp_path: Path) -> None:
    parser = argparse.ArgumentParser()
    add_option_arguments(parser)
    for given, expected in ((None, NATS_SYNC_DEFAULT), ("always", "always"), ("500ms", "500ms"), ("2s", "2s")):
        argv = [] if given is None else ["--nats-sync", given]
        assert resolve_options(parser.parse_args(argv), {}, tmp_path).nats_sync == expected
    with pytest.raises(OptionError, match="--nats-sync must be always or an interval"):
        resolve_options(parser.parse_args(["--nats-sync", "sometimes"]), {}, tmp_path)
    assert resolve_options(parser.parse_args([]), {"CONVEYOR_NATS_SYNC": "1s"}, tmp_path).nats_sync == "1s"


def test_facade_ports_are_claimed_passed_to_the_gateway_and_refused_when_malformed() -> None:
    resolved = resolve_options(flags(compat_ports="coalition=19211", compat_trust="none"), {}, CWD)
    assert (resolved.compat_ports, resolved.compat_trust) == ((("coalition", 19211),), "")
    claim = port_claims(resolved)[2]
    assert (claim.port, claim.role) == (19211, "the coalition façade")
    assert "--compat-ports" in str(port_in_use_error(claim))
    gateway = next(spec for spec in SERVICES if spec.module == "conveyor_gateway")
    env = service_env(gateway, resolved, nats_url="nats://n", database_url="postgresql://d", parent={})
    assert (env["CONVEYOR_COMPAT_PORTS"], env["CONVEYOR_COMPAT_TRUST"]) == ("coalition=19211", "")
    with pytest.raises(OptionError, match="--compat-ports"):
        resolve_options(flags(compat_ports="coalition=nineteen"), {}, CWD)
