"""Variables set around an in-process dbt, MetricFlow or OpenLineage call are given back afterwards."""

from __future__ import annotations

import os

import pytest

from customer360.scoped_environment import scoped_environment

SET_BEFORE = "CUSTOMER360_TEST_SCOPED_SET"
UNSET_BEFORE = "CUSTOMER360_TEST_SCOPED_UNSET"


@pytest.fixture
def environment(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv(SET_BEFORE, "caller's value")
    monkeypatch.delenv(UNSET_BEFORE, raising=False)


@pytest.mark.usefixtures("environment")
def test_given_a_set_and_an_unset_variable_when_a_block_sets_both_then_only_the_block_sees_its_values():
    with scoped_environment({SET_BEFORE: "block's value", UNSET_BEFORE: "new"}):
        seen = (os.environ[SET_BEFORE], os.environ[UNSET_BEFORE])

    assert seen == ("block's value", "new")
    assert os.environ[SET_BEFORE] == "caller's value"
    assert UNSET_BEFORE not in os.environ


@pytest.mark.usefixtures("environment")
def test_given_a_block_that_raises_when_it_ends_then_the_environment_is_restored_and_the_error_kept():
    with pytest.raises(RuntimeError, match="dbt failed"), scoped_environment({SET_BEFORE: "x"}):
        raise RuntimeError("dbt failed")

    assert os.environ[SET_BEFORE] == "caller's value"
    assert UNSET_BEFORE not in os.environ
