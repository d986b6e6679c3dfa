"""The evaluation's commands: registered in the customer360 command, sets and sizes as options."""

from __future__ import annotations

import pytest

from customer360.cli import build_parser
from customer360_dev.identity_eval.run import ALL_SETS


def test_given_the_dev_install_when_the_parser_is_built_then_eval_identity_takes_sets_and_sizes():
    args = build_parser().parse_args(
        [
            "eval-identity",
            "--sets",
            "febrl3,adversarial",
            "--persons",
            "500",
            "--customers",
            "200",
            "--no-baseline",
        ]
    )

    assert args.sets == ("febrl3", "adversarial")
    assert (args.persons, args.customers, args.no_baseline, args.fetch) == (500, 200, True, False)
    assert build_parser().parse_args(["eval-identity", "--sets", "all"]).sets == ALL_SETS


def test_given_an_unknown_set_when_parsed_then_the_command_names_the_known_sets(capsys):
    with pytest.raises(SystemExit):
        build_parser().parse_args(["eval-identity", "--sets", "febrl9"])

    assert "unknown set(s) ['febrl9']; choose from generator, febrl1" in capsys.readouterr().err


def test_given_a_home_when_generate_adversarial_runs_then_it_prints_the_ceiling(tmp_path, capsys):
    args = build_parser().parse_args(["generate-adversarial", "--home", str(tmp_path), "--persons", "50"])

    assert args.func(args) == 0

    out = capsys.readouterr().out
    assert "ceiling recall 0." in out and (tmp_path / "truth" / "trap_pairs.parquet").exists()
