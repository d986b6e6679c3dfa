"""The argument types the ``customer360`` subcommands share (customer360.cli_types)."""

from __future__ import annotations

from datetime import date

import pytest

from customer360.cli import main


@pytest.mark.parametrize(
    "argv",
    [
        ["run", "--date", "2026-13-01"],
        ["ingest", "--channel", "web_orders", "--date", "1/2/2026"],
        ["report", "--date", "yesterday"],
        ["identity", "resolve", "--as-of-date", "2026-02-30"],
        ["clv", "fit", "--observation-end", "2026-06"],
    ],
)
def test_a_date_option_that_is_not_a_date_is_refused_with_the_value_and_the_form(argv, capsys) -> None:
    """GIVEN a subcommand's date option WHEN it gets text that is not YYYY-MM-DD THEN argparse exits with
    status 2 and says which value is wrong and the form it wants, naming the option."""
    with pytest.raises(SystemExit) as exit_info:
        main(argv)
    err = capsys.readouterr().err
    assert exit_info.value.code == 2
    assert f"{argv[-1]!r} is not a date (YYYY-MM-DD)" in err
    assert argv[-2] in err


def test_a_date_option_reads_an_iso_date() -> None:
    from customer360.cli_types import iso_date

    assert iso_date("2026-02-28") == date(2026, 2, 28)
