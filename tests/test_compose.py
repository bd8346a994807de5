"""docker-compose.yml, proven without a Docker engine: it validates against the Compose
specification, its commands are real entry points, and every variable is documented."""

import importlib.util
import re
import subprocess
import sys
from pathlib import Path

import yaml

from shared.settings import Settings

ROOT = Path(__file__).resolve().parent.parent
COMPOSE = yaml.safe_load((ROOT / "docker-compose.yml").read_text())
APP_SERVICES = ("router", "openclaw_worker", "voice")
SCALED_SERVICES = ("router", "openclaw_worker")


def test_compose_file_validates_against_the_compose_spec() -> None:
    result = subprocess.run(
        [
            str(Path(sys.executable).parent / "check-jsonschema"),
            "--builtin-schema",
            "vendor.compose-spec",
            str(ROOT / "docker-compose.yml"),
        ],
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert result.returncode == 0, result.stdout + result.stderr


def module_of(command: list[str]) -> str:
    assert command[:2] == ["python", "-m"], command
    return command[2]


def test_every_command_and_health_check_is_a_real_entry_point() -> None:
    for name in APP_SERVICES:
        service = COMPOSE["services"][name]
        for command in (service["command"], service["healthcheck"]["test"][1:]):
            module = module_of(command)
            assert importlib.util.find_spec(module) is not None, (name, module)
            spec = importlib.util.find_spec(module)
            if spec is not None and spec.submodule_search_locations:  # a package
                assert importlib.util.find_spec(f"{module}.__main__") is not None, (name, module)


def test_health_check_names_a_service_it_knows() -> None:
    from shared.health import main

    for name in APP_SERVICES:
        assert COMPOSE["services"][name]["healthcheck"]["test"][-1] == name
    assert main(["nonsense"]) == 2


def test_scaled_services_have_no_fixed_names_or_host_ports() -> None:
    for name in SCALED_SERVICES:
        service = COMPOSE["services"][name]
        assert "container_name" not in service and "ports" not in service, name


def test_app_services_wait_for_a_healthy_redis_and_restart() -> None:
    redis = COMPOSE["services"]["redis"]
    assert "--appendonly" in redis["command"] and "yes" in redis["command"]
    for name in APP_SERVICES:
        service = COMPOSE["services"][name]
        assert service["depends_on"]["redis"]["condition"] == "service_healthy"
        assert service["restart"] == "unless-stopped"
        assert service["environment"]["REDIS_URL"] == "redis://redis:6379/0"
    assert COMPOSE["services"]["rq-info"]["profiles"] == ["dashboard"]


def test_each_role_builds_its_own_dockerfile_target() -> None:
    dockerfile = (ROOT / "Dockerfile").read_text()
    for name in APP_SERVICES:
        target = COMPOSE["services"][name]["build"]["target"]
        assert target == name and f" AS {target}\n" in dockerfile, name
    # Router and worker images carry no voice stack: their stage copies the core venv only.
    core = dockerfile.split("FROM runtime AS core\n")[1].split("FROM ")[0]
    assert "build-core" in core and "build-voice" not in core


def test_the_queue_view_reads_json_jobs() -> None:
    from shared.bus.task_queue import JOB_SERIALIZER

    command = COMPOSE["services"]["rq-info"]["command"]
    serializer = command[command.index("--serializer") + 1]
    assert serializer == f"{JOB_SERIALIZER.__module__}.{JOB_SERIALIZER.__name__}"


def test_every_variable_is_in_env_example_with_its_default() -> None:
    """.env.example lists every variable once; a value it gives is the variable's default."""
    variables = {name.upper() for name in Settings.model_fields}
    example = (ROOT / ".env.example").read_text()
    listed = dict(re.findall(r"^([A-Z_0-9]+)=(.*)$", example, re.M))
    assert variables == set(listed)
    defaults = Settings(_env_file=None)
    for name, value in listed.items():
        if value:
            field = name.lower()
            given = getattr(Settings(_env_file=None, **{name: value}), field)
            assert given == getattr(defaults, field), f"{name}={value} is not its default"


def test_the_configuration_doc_is_generated_from_the_settings() -> None:
    from shared.config_doc import render

    assert not [n for n, f in Settings.model_fields.items() if not f.description], "docstring"
    assert (ROOT / "docs" / "configuration.md").read_text() == render(), (
        "docs/configuration.md is stale: run `python -m shared.config_doc > docs/configuration.md`"
    )


def test_dockerfile_runs_as_non_root_with_dependencies_cached_before_source() -> None:
    dockerfile = (ROOT / "Dockerfile").read_text()
    # Dependencies come from pyproject.toml alone, in stages before any source is copied.
    assert dockerfile.index("COPY pyproject.toml") < dockerfile.index("COPY . ./")
    assert "COPY . ./" not in dockerfile.split("AS build-core")[0]
    for stage in dockerfile.split("\nFROM ")[1:]:
        if stage.split("\n")[0].endswith((" AS core", " AS voice")):
            assert "USER hybridbot" in stage
