"""docflow.toml: defaults, every section, relative paths, and refusals of unknown keys."""

from __future__ import annotations

from pathlib import Path

import pytest

from docflow.config import CONFIG_NAME, ConfigError, load_config
from docflow.i18n import set_language
from docflow.readers.limits import Limits

FULL = """
[paths]
inbox = "hop-thu"
db = "/var/lib/docflow/docflow.db"
trust = "tin-cay"

[limits]
max_member_bytes = 1000
max_compression_ratio = 50.5
max_zip_depth = 3

[register.columns]
number = "Số VB"
unit_code = "Đơn vị"

[watch]
settle_seconds = 5
poll_interval = 0.5

[summary]
min_documents = 20

[summary.targets]
district = 0.85

[signatures]
kind_overrides = {"AB:CD:EFEFEFEFEFEFEFEFEFEFEFEFEFEFEFEFEFEFEFEFEFEFEFEFEFEFEFEFEFEF" = "organisation"}
"""


@pytest.fixture(autouse=True)
def _english(monkeypatch: pytest.MonkeyPatch) -> None:
    """These tests read docflow.toml's errors in English (their Vietnamese: tests/test_translations.py)."""
    monkeypatch.setenv("DOCFLOW_LANG", "en")
    set_language("en")


def test_defaults_when_no_toml(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(tmp_path)
    config = load_config()
    assert (config.inbox_path, config.db_path, config.trust_path) == (
        tmp_path / "inbox",
        tmp_path / "docflow.db",
        tmp_path / "trust",
    )
    assert config.limits == Limits() and config.source is None and not config.register_columns
    assert config.watch.settle_seconds == 2.0 and config.summary.min_documents == 10
    assert dict(config.summary.targets) == {"province": 0.9, "district": 0.8, "commune": 0.6}


def test_toml_in_working_directory_is_read(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    (tmp_path / CONFIG_NAME).write_text(FULL, encoding="utf-8")
    monkeypatch.chdir(tmp_path)
    config = load_config()
    assert config.inbox_path == tmp_path / "hop-thu" and config.trust_path == tmp_path / "tin-cay"
    assert config.db_path == Path("/var/lib/docflow/docflow.db")
    assert config.limits == Limits(max_member_bytes=1000, max_compression_ratio=50.5, max_zip_depth=3)
    assert dict(config.register_columns) == {"number": "Số VB", "unit_code": "Đơn vị"}
    assert (config.watch.settle_seconds, config.watch.poll_interval) == (5.0, 0.5)
    assert config.summary.min_documents == 20
    assert config.summary.targets["district"] == 0.85 and config.summary.targets["commune"] == 0.6
    assert dict(config.kind_overrides) == {"abcd" + "ef" * 30: "organisation"}


def test_paths_are_relative_to_the_toml_folder(tmp_path: Path) -> None:
    folder = tmp_path / "etc"
    folder.mkdir()
    (folder / "custom.toml").write_text('[paths]\ninbox = "in"\n', encoding="utf-8")
    assert load_config(folder / "custom.toml").inbox_path == folder.resolve() / "in"


@pytest.mark.parametrize(
    ("text", "fragment"),
    [
        ("[pathz]\n", "unknown key(s) pathz in the top level"),
        ("[limits]\nmax_membr_bytes = 3\n", "unknown key(s) max_membr_bytes in [limits]"),
        ("[limits]\nmax_member_bytes = -1\n", "must be greater than 0"),
        ("[limits]\nmax_member_bytes = true\n", "wrong type"),
        ('[register.columns]\nnumbr = "x"\n', "unknown key(s) numbr in [register.columns]"),
        ("[summary.targets]\ncommune = 1.5\n", "between 0 and 1"),
        ('[summary]\ntiers = [{name = "x"}]\n', "summary.tiers is not used"),
        ('[signatures]\nkind_overrides = {"ab" = "robot"}\n', "person or organisation"),
        ("[watch\n", "not valid TOML"),
        ('[[summary.structures]]\nfrom = "next year"\n', "summary.structures[1].from"),
        ("[[summary.structures]]\nfrom = 2025-07-01\ntargets = { hamlet = 0.5 }\n", "is not a level"),
        ("[[summary.structures]]\nfrom = 2025-07-01\ntargets = { commune = 1.5 }\n", "is out of range"),
        ("[[summary.structures]]\nfrom = 2025-07-01\nname = 'two tiers'\n", "unknown key(s) name"),
        ("[summary]\nstructures = 3\n", "[[summary.structures]]"),
    ],
)
def test_bad_config_is_a_clear_error(tmp_path: Path, text: str, fragment: str) -> None:
    (tmp_path / CONFIG_NAME).write_text(text, encoding="utf-8")
    with pytest.raises(ConfigError) as error:
        load_config(tmp_path / CONFIG_NAME)
    assert fragment in str(error.value)


def test_missing_explicit_file_is_an_error(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match="cannot read"):
        load_config(tmp_path / "nope.toml")


def test_the_unused_tier_list_is_refused_with_what_to_do(tmp_path: Path) -> None:
    # [summary] tiers was read but never used (a unit meets its level's target or not): say so, not ignore it.
    (tmp_path / CONFIG_NAME).write_text('[summary]\ntiers = [{name = "Tốt", min = 0.95}]\n', encoding="utf-8")
    with pytest.raises(ConfigError) as error:
        load_config(tmp_path / CONFIG_NAME)
    assert "summary.tiers is not used" in str(error.value) and "[summary.targets]" in str(error.value)


def test_structures_default_to_the_two_tier_one_of_july_2025(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(tmp_path)
    structures = load_config().summary.structures
    assert [(start, dict(targets)) for start, targets in structures] == [("2025-07-01", {})]


def test_structures_are_read_with_their_dates_and_targets(tmp_path: Path) -> None:
    (tmp_path / CONFIG_NAME).write_text(
        "[[summary.structures]]\nfrom = 2025-07-01\ntargets = { commune = 0.8 }\n\n"
        '[[summary.structures]]\nfrom = "01/01/2027"\ntargets = { commune = 0.9, department = 0.95 }\n',
        encoding="utf-8",
    )
    structures = load_config(tmp_path / CONFIG_NAME).summary.structures
    assert [(start, dict(targets)) for start, targets in structures] == [
        ("2025-07-01", {"commune": 0.8}),
        ("2027-01-01", {"commune": 0.9, "department": 0.95}),
    ]
