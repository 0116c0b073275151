"""Issue 21, "Configuration you can find": ``--config FILE`` on every command, ``docflow config`` with where
each setting came from, ``--example`` that loads back as the defaults, ``demo --keep``'s next commands, and
counts that read right."""

from __future__ import annotations

import dataclasses
import json
import shlex
import tempfile
from pathlib import Path

import click
import pytest
from click.testing import CliRunner, Result
from helpers.ingest import SENDER, write_edxml

from docflow.cli import _COMMAND_MODULES, _LazyGroup, main
from docflow.cli.settings import _SAMPLES, COMMENTS, TABLE_KEYS
from docflow.config import CONFIG_NAME, SECTIONS, DisplayConfig, SummaryConfig, WatchConfig, load_config
from docflow.i18n import set_language
from docflow.readers.limits import Limits

REGISTER = "unit_code,direction,number,notation,date,channel\n000.00.01.H04,out,1,UBND-VP,2026-03-02,electronic\n"


def _run(*args: str) -> Result:
    return CliRunner().invoke(main, ["--lang", "en", *args])


def _commands() -> dict[str, click.Command]:
    """Every command and subcommand by its full name (``units import``)."""
    group = main
    assert isinstance(group, _LazyGroup)
    found: dict[str, click.Command] = {}
    with click.Context(group) as ctx:
        for name in _COMMAND_MODULES:
            command = group.get_command(ctx, name)
            assert command is not None
            found[name] = command
            if isinstance(command, click.Group):
                found.update({f"{name} {sub}": each for sub, each in command.commands.items()})
    return found


def _site(workdir: Path, text: str) -> Path:
    """A settings file away from the working directory: its relative paths are relative to its folder."""
    folder = workdir / "etc"
    folder.mkdir(exist_ok=True)
    path = folder / "site.toml"
    path.write_text(text, encoding="utf-8")
    return path


# --config on every command


def test_every_command_takes_config() -> None:
    commands = _commands()
    assert {"summary", "ingest", "watch", "verify", "config", "units import", "certs import"} <= set(commands)
    missing = [name for name, command in commands.items() if not any("--config" in p.opts for p in command.params)]
    assert missing == []


def test_the_store_named_by_config_is_the_one_ingest_writes_and_summary_reads(workdir: Path) -> None:
    site = _site(workdir, '[paths]\ndb = "data/store.db"\n')
    (workdir / "so-di.csv").write_text(REGISTER, encoding="utf-8")
    ingested = _run("ingest", "--config", str(site), "--no-trust", "so-di.csv")
    assert ingested.exit_code == 0, ingested.output
    assert (workdir / "etc" / "data" / "store.db").is_file() and not (workdir / "docflow.db").exists()
    shown = _run("summary", "--config", str(site), "--period", "2026", "--json")
    assert shown.exit_code == 0, shown.output
    assert [unit["unit"] for unit in json.loads(shown.output)] == ["000.00.01.H04"]
    # Without --config the same command looks here, where there is no store.
    assert _run("summary").exit_code != 0


@pytest.mark.parametrize(
    "args",
    [
        ("summary",),
        ("units",),
        ("certs",),
        ("sql", "select 1"),
        ("audit", "X"),
        ("batches",),
        ("reverify", "--trust", "."),
    ],
)
def test_every_reading_command_reads_the_store_config_names(workdir: Path, args: tuple[str, ...]) -> None:
    site = _site(workdir, '[paths]\ndb = "elsewhere.db"\n')
    result = _run(*args[:1], "--config", str(site), *args[1:])
    assert result.exit_code != 0
    assert str(workdir / "etc" / "elsewhere.db") in result.output, result.output


@pytest.mark.parametrize(
    "args",
    [
        ("summary",),
        ("units",),
        ("units", "import", "FILE"),
        ("certs", "import", "FILE"),
        ("sql", "select 1"),
        ("audit", "X"),
        ("batches",),
        ("ingest", "FILE"),
        ("watch", "--once"),
        ("reverify",),
        ("verify", "FILE"),
        ("demo",),
        ("config",),
    ],
)
def test_a_missing_config_file_is_exit_2_with_the_reason(workdir: Path, args: tuple[str, ...]) -> None:
    (workdir / "FILE").write_text(REGISTER, encoding="utf-8")
    result = _run(*args, "--config", "nope.toml")
    assert result.exit_code == 2, result.output
    assert "cannot read nope.toml" in result.output and "No such file" in result.output
    assert sorted(path.name for path in workdir.iterdir()) == ["FILE"]  # nothing made before the refusal


@pytest.mark.parametrize(
    ("text", "reason"),
    [("[paths\n", "is not valid TOML"), ("[limits]\nmax_zip_depth = 99\n", "limits.max_zip_depth = 99")],
)
def test_a_wrong_config_file_is_exit_2_with_the_reason(workdir: Path, text: str, reason: str) -> None:
    site = _site(workdir, text)
    result = _run("summary", "--config", str(site))
    assert result.exit_code == 2 and reason in result.output, result.output


def test_a_wrong_value_is_reported_in_the_file_config_names(workdir: Path) -> None:
    site = _site(workdir, "[limits]\nmax_zip_depth = 99\n")
    result = _run("summary", "--config", str(site))
    assert f"{site}: limits.max_zip_depth = 99" in result.output and "docflow.toml" not in result.output


def test_verify_and_watch_take_their_folders_from_config(workdir: Path) -> None:
    site = _site(workdir, '[paths]\ntrust = "tin-cay"\ninbox = "hop-thu"\n')
    (workdir / "a.pdf").write_bytes(b"%PDF-1.7\n")
    verified = _run("verify", "--config", str(site), "a.pdf")
    assert f"No trust directory at {workdir / 'etc' / 'tin-cay'} ({site})" in verified.output, verified.output
    watched = _run("watch", "--config", str(site), "--once", "--no-trust")
    assert watched.exit_code == 2 and str(workdir / "etc" / "hop-thu") in watched.output, watched.output


def test_a_folder_given_as_config_is_refused(workdir: Path) -> None:
    result = _run("config", "--config", str(workdir))
    assert result.exit_code == 2 and "cannot read" in result.output


def test_config_given_to_a_group_reaches_its_import(workdir: Path) -> None:
    site = _site(workdir, '[paths]\ndb = "units.db"\n')
    (workdir / "units.csv").write_text("code,name\n000.00.01.H04,UBND tỉnh\n", encoding="utf-8")
    result = _run("units", "--config", str(site), "import", "units.csv")
    assert result.exit_code == 0, result.output
    assert "imported 1 unit\n" in result.output  # and one unit, not "1 units"
    assert (workdir / "etc" / "units.db").is_file()


# docflow config


def _settings(result: Result) -> dict[str, dict[str, object]]:
    assert result.exit_code == 0, result.output
    return {entry["key"]: entry for entry in json.loads(result.output)["settings"]}


def test_config_without_a_file_shows_every_default(workdir: Path) -> None:
    result = _run("config", "--json")
    settings = _settings(result)
    assert json.loads(result.output)["file"] is None
    assert {entry["source"] for entry in settings.values()} == {"default"}
    assert settings["paths.db"]["value"] == str(workdir / "docflow.db")
    assert settings["limits.max_zip_depth"]["value"] == Limits().max_zip_depth
    assert settings["watch.log_file"]["value"] is None
    assert settings["display.timezone"]["value"] == "Asia/Ho_Chi_Minh"


def test_config_says_which_settings_came_from_the_file_and_which_from_an_option(workdir: Path) -> None:
    site = _site(
        workdir, '[paths]\ndb = "store.db"\n[summary.targets]\ndistrict = 0.85\n[watch]\nobserver = "polling"\n'
    )
    settings = _settings(_run("config", "--config", str(site), "--trust", "my-trust", "--json"))
    file = str(site.absolute())
    assert settings["paths.db"] == {
        "key": "paths.db",
        "value": str(workdir / "etc" / "store.db"),
        "source": "file",
        "file": file,
    }
    assert settings["summary.targets.district"]["value"] == 0.85
    assert settings["summary.targets.district"]["source"] == "file"
    assert settings["summary.targets.province"]["source"] == "default"
    assert settings["watch.observer"] == {"key": "watch.observer", "value": "polling", "source": "file", "file": file}
    assert settings["paths.trust"] == {
        "key": "paths.trust",
        "value": "my-trust",
        "source": "option",
        "option": "--trust",
    }
    assert settings["paths.inbox"]["source"] == "default"


def test_config_finds_docflow_toml_in_the_working_directory(workdir: Path) -> None:
    (workdir / CONFIG_NAME).write_text("[summary]\nmin_documents = 3\n", encoding="utf-8")
    settings = _settings(_run("config", "--json"))
    assert settings["summary.min_documents"] == {
        "key": "summary.min_documents",
        "value": 3,
        "source": "file",
        "file": str(workdir / CONFIG_NAME),
    }


def test_config_table_names_the_file_and_the_option(workdir: Path) -> None:
    site = _site(workdir, '[paths]\ndb = "store.db"\n')
    result = _run("config", "--config", str(site), "--inbox", "hop-thu")
    assert result.exit_code == 0, result.output
    rows = {line.split("│")[1].strip(): line for line in result.output.splitlines() if line.count("│") == 4}
    # The source cell may wrap between "file" and the path in a narrow table.
    assert "file" in rows["paths.db"] and str(site.absolute()) in "".join(result.output.split())
    assert "option --inbox" in rows["paths.inbox"] and "hop-thu" in rows["paths.inbox"]
    assert "default" in rows["limits.max_batch_bytes"] and "2,147,483,648" in rows["limits.max_batch_bytes"]
    assert f"Settings read from {site.absolute()}" in result.output


def test_config_speaks_vietnamese_by_default(workdir: Path) -> None:
    result = CliRunner().invoke(main, ["config"], env={"DOCFLOW_LANG": ""})
    assert result.exit_code == 0 and "paths.db" in result.output


# docflow config --example


def _example(workdir: Path) -> str:
    result = _run("config", "--example")
    assert result.exit_code == 0, result.output
    return result.output


def test_the_example_loads_back_as_the_defaults(workdir: Path) -> None:
    example = workdir / "example" / CONFIG_NAME
    example.parent.mkdir()
    example.write_text(_example(workdir), encoding="utf-8")
    loaded = load_config(example)
    assert loaded.given  # every key is written out, not left to the defaults
    defaults = load_config()  # no docflow.toml in the working directory
    base = example.parent.resolve()
    expected = dataclasses.replace(
        defaults,
        inbox_path=base / "inbox",
        db_path=base / "docflow.db",
        trust_path=base / "trust",
        source=example,
        given=loaded.given,
    )
    assert loaded == expected


def test_the_example_has_every_key_with_a_comment(workdir: Path) -> None:
    text = _example(workdir)
    for section in SECTIONS:
        assert f"[{section}]" in text or f"[{section}." in text, section
    keys = {line.split(" = ")[0].removeprefix("# ") for line in text.splitlines() if " = " in line}
    for spec in (*dataclasses.fields(Limits), *dataclasses.fields(WatchConfig)):
        assert spec.name in keys, spec.name
    for spec in (*dataclasses.fields(SummaryConfig), *dataclasses.fields(DisplayConfig)):
        assert spec.name in keys or f"[summary.{spec.name}]" in text, spec.name
    for key, comment in COMMENTS.items():
        assert f"# {comment}" in text, key
    lines = text.splitlines()
    for number, line in enumerate(lines):
        if " = " in line and not line.startswith("# "):
            above = lines[number - 1]
            assert above.startswith("# ") or " = " in above, line  # a comment above, or a sibling target


def test_the_examples_commented_samples_are_keys_docflow_takes(workdir: Path) -> None:
    text = _example(workdir)
    for key, samples in _SAMPLES.items():
        for sample in samples:
            assert f"# {sample}" in text, key
            text = text.replace(f"# {sample}", sample)
    (workdir / CONFIG_NAME).write_text(text, encoding="utf-8")
    loaded = load_config()
    assert loaded.register_columns["number"] == "Số VB"
    assert loaded.kind_overrides == {"0" * 64: "organisation"}
    assert loaded.watch.log_file == workdir / "watch-log.jsonl"


def test_example_out_refuses_to_overwrite_without_force(workdir: Path) -> None:
    written = _run("config", "--example", "--out", "new.toml")
    assert written.exit_code == 0, written.output
    assert (workdir / "new.toml").read_text(encoding="utf-8") == _example(workdir)
    (workdir / "new.toml").write_text("# mine\n", encoding="utf-8")
    refused = _run("config", "--example", "--out", "new.toml")
    assert refused.exit_code == 2 and "--force" in refused.output
    assert (workdir / "new.toml").read_text(encoding="utf-8") == "# mine\n"
    forced = _run("config", "--example", "--out", "new.toml", "--force")
    assert forced.exit_code == 0 and (workdir / "new.toml").read_text(encoding="utf-8") == _example(workdir)


@pytest.mark.parametrize("args", [("--out", "x.toml"), ("--force",), ("--example", "--json")])
def test_config_options_that_do_not_go_together(workdir: Path, args: tuple[str, ...]) -> None:
    result = _run("config", *args)
    assert result.exit_code == 2 and not (workdir / "x.toml").exists()


# docflow demo --keep


def test_demo_keep_prints_the_commands_to_go_on_with(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, workdir: Path
) -> None:
    kept = tmp_path / "kept"
    kept.mkdir()
    monkeypatch.setattr(tempfile, "tempdir", str(kept))
    result = _run("demo", "--keep", "--scale", "0.02")
    assert result.exit_code == 0, result.output
    (root,) = kept.iterdir()
    db = root / "docflow.db"
    steps = [line.strip() for line in result.output.splitlines() if line.startswith("  docflow ")]
    assert f"docflow summary --db {db}" in steps
    audit = next(step for step in steps if step.startswith("docflow audit "))
    assert audit.endswith(f" --db {db}")
    for step in steps:
        ran = _run(*shlex.split(step)[1:])
        assert ran.exit_code == 0, (step, ran.output)
    assert f"Demo files and store kept in {root}" in result.output


# Counts


def test_counts_read_right_for_one(workdir: Path) -> None:
    write_edxml(workdir / "inbox" / "a.edxml", number="1")
    watched = CliRunner().invoke(main, ["--lang", "en", "watch", "inbox", "--once", "--no-trust"])
    assert watched.exit_code == 0, watched.output
    assert "stopped after 1 batch" in watched.output
    assert "1 batches" not in watched.output and "1 documents" not in watched.output
    listed = _run("batches")
    assert listed.exit_code == 0 and "1 batch," in listed.output
    write_edxml(workdir / "b.edxml", number="2", sender=SENDER)
    ingested = _run("ingest", "--no-trust", "b.edxml")
    assert "ingested: 1 document stored (1 new, 0 updated), 0 signatures, 0 rejected items" in ingested.output


# Each command's --help shows one example


def test_every_command_help_shows_an_example() -> None:
    set_language("en")  # the commands as written (get_command hands out copies in the current language)
    for name, command in _commands().items():
        assert command.epilog and f"Example: docflow {name}" in command.epilog, name
        shown = _run(*name.split(), "--help")
        assert f"docflow {name}" in shown.output.split("Example:")[-1], name


# The documentation names every key


def test_docs_configuration_names_every_key_and_the_readme_links_it(workdir: Path) -> None:
    repo = Path(__file__).resolve().parents[1]
    page = (repo / "docs" / "configuration.md").read_text(encoding="utf-8")
    for section in (*SECTIONS, *TABLE_KEYS, "summary.targets"):
        assert f"[{section}" in page, section
    text = _example(workdir)
    keys = {line.split(" = ")[0] for line in text.splitlines() if " = " in line and not line.startswith("# ")}
    keys |= {key.rpartition(".")[2] for key in COMMENTS if key not in ("summary.targets", *TABLE_KEYS)}
    for key in keys:
        assert f"`{key}`" in page or f"`targets.{key}`" in page, key
    assert "docs/configuration.md" in (repo / "README.md").read_text(encoding="utf-8")
