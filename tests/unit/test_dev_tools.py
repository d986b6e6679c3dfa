"""The developer tooling (customer360_dev) and the production package: a development install reaches the
generator and the benchmarks through the CLI; an install without customer360_dev (the production image) says
which commands are development commands and how to get them, and never fails on a bare import error."""

from __future__ import annotations

import sys
from pathlib import Path

import pytest

from customer360 import cli
from customer360.dev_tools import DEV_PACKAGE, DevToolsMissing, import_dev_module
from customer360.settings import Settings

HOW_TO_GET = "clone the repository and run `make setup`"


@pytest.fixture
def without_dev_package(monkeypatch: pytest.MonkeyPatch) -> None:
    """This interpreter as a production install: no folder on the path holds customer360_dev, none loaded."""
    monkeypatch.setattr(sys, "path", [p for p in sys.path if not (Path(p or ".") / DEV_PACKAGE).is_dir()])
    for name in [n for n in sys.modules if n == DEV_PACKAGE or n.startswith(f"{DEV_PACKAGE}.")]:
        monkeypatch.delitem(sys.modules, name)


def _subcommands(parser) -> dict[str, object]:
    [action] = [a for a in parser._actions if a.dest == "command"]
    return action.choices


def test_given_a_development_install_then_generate_and_bench_are_the_dev_packages_commands() -> None:
    """GIVEN the development install WHEN the CLI is built THEN generate and bench parse their options."""
    commands = _subcommands(cli.build_parser())
    assert {"generate", "bench"} <= set(commands)
    args = cli.build_parser().parse_args(["bench", "--scale", "large", "--repeat", "1"])
    assert args.func.__module__ == "customer360_dev.bench.commands"
    assert (args.scale, args.repeat) == ("large", 1)
    args = cli.build_parser().parse_args(["generate", "--customers", "5", "--days", "2"])
    assert args.func.__module__ == "customer360_dev.datagen.commands"


@pytest.mark.parametrize(
    "argv",
    [
        ["generate", "--customers", "5", "--days", "2"],
        ["bench", "--scale", "small"],
        ["bench"],
        ["identity", "bench", "--persons", "10"],
    ],
    ids=["generate", "bench-with-options", "bench", "identity-bench"],
)
def test_given_no_dev_package_when_a_dev_command_runs_then_it_says_so_and_how_to_get_it(
    without_dev_package, capsys, argv: list[str]
) -> None:
    """GIVEN an install without customer360_dev WHEN a development command runs, with or without its options
    THEN it exits 2 and says that it is a development command and how to install it."""
    assert cli.main(argv) == 2
    err = capsys.readouterr().err
    command = " ".join(argv[:2] if argv[0] == "identity" else argv[:1])
    assert f"`customer360 {command}` is a development command" in err
    assert HOW_TO_GET in err
    assert "Traceback" not in err


def test_given_no_dev_package_then_help_still_lists_the_dev_commands_and_other_commands_keep_their_checks(
    without_dev_package, capsys
) -> None:
    """GIVEN an install without customer360_dev WHEN the CLI is built THEN generate and bench are listed as
    development commands, and an unknown option of a production command is still refused."""
    commands = _subcommands(cli.build_parser())
    assert {"generate", "bench", "run", "identity"} <= set(commands)
    assert "development" in commands["generate"].description
    with pytest.raises(SystemExit) as exit_info:
        cli.main(["summary", "--no-such-option"])
    assert exit_info.value.code == 2
    assert "unrecognized arguments: --no-such-option" in capsys.readouterr().err


def test_given_no_dev_package_when_run_finds_an_empty_landing_folder_then_it_explains_instead_of_generating(
    without_dev_package, tmp_path, monkeypatch, capsys
) -> None:
    """GIVEN an install without customer360_dev and an empty landing folder WHEN `customer360 run` starts THEN
    it exits 2 naming the landing folder, the missing generator and how to get it, and writes nothing."""
    from customer360.settings import get_settings

    monkeypatch.setenv("CUSTOMER360_HOME", str(tmp_path / "home"))
    get_settings.cache_clear()
    try:
        assert cli.main(["run"]) == 2
    finally:
        get_settings.cache_clear()
    err = capsys.readouterr().err
    landing = Settings(home=tmp_path / "home").landing_root
    assert f"no landing data under {landing}" in err
    assert "cannot generate demo data" in err and DEV_PACKAGE in err and HOW_TO_GET in err
    assert not landing.exists() or not any(landing.iterdir())


def test_given_no_dev_package_then_importing_dev_tooling_names_what_needed_it(without_dev_package) -> None:
    """GIVEN an install without customer360_dev WHEN a dev module is imported through import_dev_module THEN
    DevToolsMissing names the caller's purpose; a missing module elsewhere is raised as it is."""
    with pytest.raises(DevToolsMissing, match="generating demo data is a development command"):
        import_dev_module("customer360_dev.datagen.generate", "generating demo data")
    with pytest.raises(ModuleNotFoundError) as exc_info:
        import_dev_module("customer360.no_such_module", "anything")
    assert exc_info.type is ModuleNotFoundError
