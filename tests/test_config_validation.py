"""Issue 14, item 15: every docflow.toml setting is checked for type and range, and a refusal names the key,
the value and what is allowed; the commands stop with exit 2 and one line."""

from __future__ import annotations

from pathlib import Path

import pytest
from click.testing import CliRunner

from docflow.cli import main
from docflow.config import CONFIG_NAME, ConfigError, load_config
from docflow.i18n import set_language
from docflow.readers.limits import Limits

SHA256 = "ab" * 32


@pytest.fixture(autouse=True)
def _english(monkeypatch: pytest.MonkeyPatch) -> None:
    """These tests read docflow.toml's errors in English (their Vietnamese: tests/test_translations.py)."""
    monkeypatch.setenv("DOCFLOW_LANG", "en")
    set_language("en")


@pytest.mark.parametrize(
    ("text", "key", "value", "allowed"),
    [
        ("[limits]\nmax_compression_ratio = nan\n", "limits.max_compression_ratio", "nan", "a finite number"),
        ("[limits]\nmax_compression_ratio = inf\n", "limits.max_compression_ratio", "inf", "a finite number"),
        ("[limits]\nmax_compression_ratio = -3.0\n", "limits.max_compression_ratio", "-3.0", "greater than 0"),
        ("[limits]\nmax_member_bytes = 0\n", "limits.max_member_bytes", "0", "a whole number from 1"),
        ("[limits]\nmax_member_bytes = 1.5\n", "limits.max_member_bytes", "1.5", "a whole number from 1"),
        ("[limits]\nmax_zip_depth = 1000\n", "limits.max_zip_depth", "1000", "from 1 to 10"),
        ("[watch]\nsettle_seconds = nan\n", "watch.settle_seconds", "nan", "a finite number"),
        ("[watch]\npoll_interval = -inf\n", "watch.poll_interval", "-inf", "a finite number"),
        ("[watch]\npoll_interval = 1e300\n", "watch.poll_interval", "1e+300", "86400"),
        ("[summary]\nmin_documents = -1\n", "summary.min_documents", "-1", "a whole number from 0"),
        ("[summary.targets]\ncommune = nan\n", "summary.targets.commune", "nan", "between 0 and 1"),
        ("[summary.targets]\nvillage = 0.5\n", "summary.targets", "village", "province, department"),
        ('[paths]\ndb = ""\n', "paths.db", '""', "a non-empty path"),
        ('[register.columns]\nnumber = ""\n', "register.columns.number", '""', "a non-empty column header"),
        (
            '[signatures]\nkind_overrides = {"AB:CD" = "person"}\n',
            "signatures.kind_overrides",
            "AB:CD",
            "64 hexadecimal digits",
        ),
        ("limits = 3\n", "[limits]", "3", "a table"),
    ],
)
def test_a_wrong_setting_is_refused_with_key_value_and_what_is_allowed(
    tmp_path: Path, text: str, key: str, value: str, allowed: str
) -> None:
    (tmp_path / CONFIG_NAME).write_text(text, encoding="utf-8")
    with pytest.raises(ConfigError) as error:
        load_config(tmp_path / CONFIG_NAME)
    message = str(error.value)
    assert key in message and value in message and allowed in message, message


def test_edge_values_that_make_sense_are_accepted(tmp_path: Path) -> None:
    (tmp_path / CONFIG_NAME).write_text(
        "[limits]\nmax_compression_ratio = 1\nmax_zip_depth = 10\n[watch]\nsettle_seconds = 86400\n"
        f'[summary]\nmin_documents = 0\n[signatures]\nkind_overrides = {{"{SHA256.upper()}" = "person"}}\n',
        encoding="utf-8",
    )
    config = load_config(tmp_path / CONFIG_NAME)
    assert config.limits == Limits(max_compression_ratio=1.0, max_zip_depth=10)
    assert config.summary.min_documents == 0 and dict(config.kind_overrides) == {SHA256: "person"}


@pytest.mark.parametrize("command", [["summary"], ["sql", "SELECT 1"], ["ingest", "x.zip"], ["watch", "--once"]])
def test_commands_refuse_to_start_with_exit_2_and_one_line(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, command: list[str]
) -> None:
    monkeypatch.chdir(tmp_path)
    (tmp_path / CONFIG_NAME).write_text("[limits]\nmax_compression_ratio = nan\n", encoding="utf-8")
    result = CliRunner().invoke(main, command)
    assert result.exit_code == 2, result.output
    lines = result.output.strip().splitlines()
    assert len(lines) == 1 and "limits.max_compression_ratio" in lines[0] and "Traceback" not in result.output
