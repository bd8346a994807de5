"""Environment variables and the run mode they imply."""

import logging
from typing import Any

import pytest

from shared.settings import Mode, Settings, log_startup, redact_url


def settings(**env: Any) -> Settings:
    return Settings(_env_file=None, **env)


@pytest.mark.parametrize(
    ("env", "hybrid_llm", "mode"),
    [
        ({}, False, Mode.DIRECT),
        ({"OPENCLAW_API_URL": "http://claw:18789"}, True, Mode.HYBRID),
        ({"OPENCLAW_API_URL": "http://claw:18789", "BOT_HYBRID_LLM": "true"}, True, Mode.HYBRID),
        (
            {"OPENCLAW_API_URL": "http://claw:18789", "BOT_HYBRID_LLM": "false"},
            False,
            Mode.OPENCLAW,
        ),
        ({"BOT_HYBRID_LLM": "false"}, False, Mode.DIRECT),
        ({"BOT_HYBRID_LLM": "true"}, True, Mode.DIRECT),
        ({"OPENCLAW_API_URL": "", "BOT_HYBRID_LLM": ""}, False, Mode.DIRECT),
    ],
)
def test_mode_follows_the_seed_table(env: dict[str, str], hybrid_llm: bool, mode: Mode) -> None:
    resolved = settings(**env)
    assert resolved.hybrid_llm is hybrid_llm
    assert resolved.mode is mode


def test_defaults_match_the_seed(monkeypatch: pytest.MonkeyPatch) -> None:
    for name in (
        "BOT_HYBRID_LLM",
        "BOT_HYBRID_PRIMARY_MODEL",
        "OPENCLAW_API_URL",
        "OPENAI_API_KEY",
        "OPENAI_BASE_URL",
    ):
        monkeypatch.delenv(name, raising=False)
    resolved = settings()
    assert resolved.bot_hybrid_primary_model == "gpt-4o-mini"
    assert resolved.openclaw_api_url is None
    assert resolved.openai_api_key is None
    assert resolved.openai_base_url is None
    assert not resolved.primary_model_configured


def test_variables_are_read_from_the_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("BOT_HYBRID_PRIMARY_MODEL", "qwen2.5-72b-instruct")
    monkeypatch.setenv("OPENAI_BASE_URL", "http://127.0.0.1:8000/v1")
    monkeypatch.setenv("REDIS_URL", "redis://cache:6379/2")
    resolved = Settings(_env_file=None)
    assert resolved.bot_hybrid_primary_model == "qwen2.5-72b-instruct"
    assert resolved.primary_model_configured
    assert resolved.redis_url == "redis://cache:6379/2"


def test_startup_log_names_the_mode_and_hides_secrets(caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.INFO)
    log_startup(
        "router",
        settings(
            OPENAI_API_KEY="sk-very-secret",
            OPENCLAW_API_URL="http://claw:18789",
            REDIS_URL="rediss://:hunter2@cache:6380/0",
        ),
    )
    assert "mode=hybrid" in caplog.text
    assert "model_key=set" in caplog.text
    assert "sk-very-secret" not in caplog.text and "hunter2" not in caplog.text


def test_redacted_url_keeps_everything_but_the_password() -> None:
    assert redact_url("redis://user:pw@host:6379/1") == "redis://user:***@host:6379/1"
    assert redact_url("redis://127.0.0.1:6379/0") == "redis://127.0.0.1:6379/0"


def test_openclaw_mode_gives_a_turn_the_task_timeout_unless_a_deadline_is_set() -> None:
    url = "http://claw:18789"
    assert Settings(_env_file=None, OPENCLAW_API_URL=url, BOT_HYBRID_LLM=False).turn_deadline == 600
    set_deadline = Settings(
        _env_file=None, OPENCLAW_API_URL=url, BOT_HYBRID_LLM=False, BOT_TURN_DEADLINE=45
    )
    assert set_deadline.turn_deadline == 45
    assert Settings(_env_file=None, BOT_TURN_DEADLINE="").turn_deadline == 20
    assert Settings(_env_file=None, OPENCLAW_API_URL=url).turn_deadline == 20
    assert Settings(_env_file=None).turn_deadline == 20
