"""The landing contract's documentation is generated from the code and kept in sync."""

from __future__ import annotations

from pathlib import Path

from customer360.landing.contract import CHANNELS
from customer360.landing.contract_doc import render

DOC = Path(__file__).resolve().parents[2] / "docs" / "landing-contract.md"


def test_given_the_contract_when_rendered_then_docs_landing_contract_md_is_up_to_date():
    assert DOC.read_text(encoding="utf-8") == render(), "run: customer360 contract > docs/landing-contract.md"


def test_given_the_rendered_contract_then_every_channel_and_required_column_is_documented():
    text = render()
    for channel in CHANNELS.values():
        assert f"## `{channel.name}`" in text
        for name in channel.required_columns:
            assert f"| `{name}` |" in text
