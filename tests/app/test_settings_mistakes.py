"""Every setting mistake gets one line naming the setting, never the secret (issue 15, defect 9)."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from app import cli_admin, cli_lists
from app.logs import redact
from app.settings import NOT_SETTINGS, Settings, SettingsError, load_settings, setting_warnings
from core.db import display_url

ROOT = Path(__file__).resolve().parents[2]


@pytest.fixture(autouse=True)
def clean_environment(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    import os

    for name in list(os.environ):
        if name.upper().startswith("PEREZVON_"):
            monkeypatch.delenv(name)
    monkeypatch.chdir(tmp_path)  # no .env of the repository


def _refused(name: str, value: str) -> str:
    with pytest.raises(SettingsError) as refused:
        load_settings(**{name: value})
    message = str(refused.value)
    assert "\n" not in message and message.startswith(f"PEREZVON_{name.upper()}: ")
    return message


@pytest.mark.parametrize(
    ("token", "says"),
    [
        ("abc", "not a bot token"),
        ("bot123456:AAHsecretpart", "remove the 'bot' in front"),
        ("123456:AAH secretpart", "not a bot token"),
        ("'123456:AAHsecretpart'", "remove the quotes"),
        (":AAHsecretpart", "not a bot token"),
        ("123456:", "not a bot token"),
    ],
)
def test_a_malformed_bot_token_is_one_line_without_the_token(token: str, says: str) -> None:
    message = _refused("telegram_token", token)
    assert says in message
    assert token.strip("'") not in message and "secretpart" not in message


def test_spaces_around_the_token_are_removed_and_said(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("PEREZVON_TELEGRAM_TOKEN", "123456:AAHsecretpart ")
    settings = load_settings()
    assert settings.telegram_token is not None
    assert settings.telegram_token.get_secret_value() == "123456:AAHsecretpart"
    assert setting_warnings() == ["PEREZVON_TELEGRAM_TOKEN has spaces around it; they were removed"]


def test_an_empty_token_means_no_bot() -> None:
    assert load_settings(telegram_token="  ").telegram_token is None


@pytest.mark.parametrize(
    ("url", "expected"),
    [
        (
            "postgresql://app:pw@db.example:5432/crm?sslmode=require",
            "postgresql+asyncpg://app:pw@db.example:5432/crm?ssl=require",
        ),
        (
            "postgres://app@db.example/crm?sslmode=verify-full",
            "postgresql+asyncpg://app@db.example/crm?ssl=verify-full",
        ),
        (
            "postgresql+asyncpg://app@db.example/crm?ssl=prefer",
            "postgresql+asyncpg://app@db.example/crm?ssl=prefer",
        ),
        ("sqlite:///./x.db", "sqlite+aiosqlite:///./x.db"),
        ("sqlite+aiosqlite:////home/me@corp/crm.db", "sqlite+aiosqlite:////home/me@corp/crm.db"),
    ],
)
def test_libpq_forms_of_the_database_url_are_translated_for_asyncpg(
    url: str, expected: str
) -> None:
    assert load_settings(database_url=url).database_url == expected


@pytest.mark.parametrize(
    ("url", "says"),
    [
        ("postgresql://app:s3cr@t@db.example/crm", "unencoded '@': write it as %40"),
        ("postgresql://app:s3cret@db.example:port/crm", "not a URL that can be read"),
        ("postgresql://app:s3cret@db.example/crm?application_name=x", "?application_name="),
        ("postgresql://app:s3cret@db.example/crm?sslrootcert=/ca.pem", "PGSSLROOTCERT"),
        ("postgresql://app:s3cret@db.example/crm?sslmode=yes", "takes one of disable"),
        ("mysql://app:s3cret@db.example/crm", "use sqlite+aiosqlite"),
    ],
)
def test_a_database_url_that_cannot_work_is_one_line_without_the_password(
    url: str, says: str
) -> None:
    message = _refused("database_url", url)
    assert says in message
    assert "s3cr" not in message


@pytest.mark.parametrize(
    ("url", "shown"),
    [
        ("postgresql+asyncpg://app:s3cret@db/crm", "postgresql+asyncpg://app:***@db/crm"),
        (
            "postgresql+asyncpg://app@db/crm?password=s3cret&ssl=require",
            "postgresql+asyncpg://app@db/crm?password=***&ssl=require",
        ),
        ("postgresql+asyncpg://app:s3cr@t@db/crm", "postgresql+asyncpg://app:***@db/crm"),
        ("redis://:s3cret@127.0.0.1:6379/1", "redis://:***@127.0.0.1:6379/1"),
        ("postgresql//app:s3cret@db/crm", "(a URL that cannot be read)"),
    ],
)
def test_printed_urls_never_show_a_password(url: str, shown: str) -> None:
    assert display_url(url) == shown


def test_database_errors_mask_a_query_password() -> None:
    url = "postgresql+asyncpg://app@127.0.0.1:1/crm?password=s3cret"
    line = cli_admin.database_problem(ConnectionRefusedError(111, "refused s3cret"), url)
    assert line is not None and "s3cret" not in line and "password=***" in line


def test_a_misspelt_or_unknown_variable_is_named_with_a_suggestion(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv("PEREZVON_TELEGRAM_TOKN", "123456:AAHsecretpart")
    monkeypatch.setenv("PEREZVON_FAX_NUMBER", "1")
    assert setting_warnings() == [
        "PEREZVON_FAX_NUMBER (in the environment) is not a setting and is ignored",
        "PEREZVON_TELEGRAM_TOKN (in the environment) is not a setting and is ignored; "
        "did you mean PEREZVON_TELEGRAM_TOKEN?",
    ]


def test_a_setting_without_its_prefix_in_env_file_is_named(tmp_path: Path) -> None:
    (tmp_path / ".env").write_text(
        "TELEGRAM_TOKEN=123456:AAHsecretpart\nPEREZVON_TIMEZON=Europe/Samara\nOTHER_TOOL=1\n"
    )
    warnings = setting_warnings()
    assert warnings == [
        "PEREZVON_TIMEZON (in .env) is not a setting and is ignored; "
        "did you mean PEREZVON_TIMEZONE?",
        "TELEGRAM_TOKEN (in .env) is ignored: settings take the prefix, "
        "write PEREZVON_TELEGRAM_TOKEN",
    ]
    assert not any("secretpart" in line for line in warnings)


def test_the_variables_of_tests_and_benchmarks_are_not_reported(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    for name in NOT_SETTINGS:
        monkeypatch.setenv(name, "x")
    monkeypatch.setenv("DATABASE_URL", "for another program")  # unprefixed in the environment
    assert setting_warnings() == []


@pytest.mark.parametrize(
    "query",
    [
        "access_token=pzv_s3cret",
        "token=s3cret",
        "api_key=s3cret",
        "X-Api-Key=s3cret",
        "password=s3cret",
        "client_secret=s3cret",
        "accessToken=s3cret",
        "%61ccess_token=s3cret",
    ],
)
def test_logged_query_strings_mask_secrets(query: str) -> None:
    line = redact(f'"GET /api/v1/contacts?q=ivan&{query}&monkey=1 HTTP/1.1" 401')
    assert "s3cret" not in line and "q=ivan" in line and "monkey=1" in line


def _readme_setting_names() -> set[str]:
    names: set[str] = set()
    for line in (ROOT / "README.md").read_text().splitlines():
        if line.startswith("| `"):
            first_cell = line.split(" | ")[0]
            names |= set(re.findall(r"`([A-Z][A-Z0-9_<>]*)`", first_cell))
    return names


def test_the_readme_tables_name_every_setting_with_its_prefix() -> None:
    listed = _readme_setting_names()
    expected = {f"PEREZVON_{name.upper()}" for name in Settings.model_fields}
    assert expected - listed == set(), "settings missing from the README's tables"
    assert {name for name in listed if not name.startswith("PEREZVON_")} == set()
    assert listed - expected == set(), "README rows that are no setting"


def test_the_env_example_names_every_setting_and_nothing_else() -> None:
    names = set(
        re.findall(r"^#? ?(PEREZVON_[A-Z0-9_]+)=", (ROOT / ".env.example").read_text(), re.M)
    )
    assert names == {f"PEREZVON_{name.upper()}" for name in Settings.model_fields}


def test_the_parsers_choices_agree_with_the_core() -> None:
    from core.activities.models import ACTIVITY_KINDS
    from core.users.api_keys import ROLES

    assert cli_admin.KEY_ROLES == ROLES
    assert cli_lists.ACTIVITY_KINDS == ACTIVITY_KINDS
