"""The identity match model (trained on DuckDB, ``identity.model_store``) read for Splink's Spark backend.

The model file holds Splink settings whose comparison conditions are DuckDB SQL. Spark reads them after two
rewrites, both by sqlglot's syntax tree (no text substitution):

* DuckDB's dialect becomes Spark's (``date_diff('day', a, b)``, ``regexp_replace(..., 'g')``, quoting);
* ``jaro_winkler_similarity(a, b)`` becomes ``jaro_winkler(nullif(a, ''), nullif(b, ''))``: Splink's Scala
  function from the jar in its wheel. It gives 1.0 for two empty strings where DuckDB gives 0.0; with the
  empty strings nulled every level compares as on DuckDB (a null similarity passes no threshold, as 0.0 does).
  ``damerau_levenshtein`` has the same name and results in both (DECISIONLOG.md, "Identity on Spark").

The m and u probabilities, the prior and the term frequencies are the file's, unchanged.
"""

from __future__ import annotations

import copy
from typing import Any

from customer360.identity.match_model import MatchModel, corroborated_sql

SPARK_JARO_WINKLER = "jaro_winkler"


def spark_condition(duckdb_sql: str) -> str:
    """One DuckDB condition (a comparison level, a blocking rule) as Spark SQL."""
    import sqlglot
    from sqlglot import exp

    if duckdb_sql.strip().upper() == "ELSE":
        return duckdb_sql
    tree = sqlglot.parse_one(duckdb_sql, read="duckdb")

    def rewrite(node: exp.Expression) -> exp.Expression:
        if isinstance(node, exp.JarowinklerSimilarity):
            sides = [exp.Nullif(this=side.copy(), expression=exp.Literal.string("")) for side in (node.this,
                     node.expression)]  # fmt: skip
            return exp.Anonymous(this=SPARK_JARO_WINKLER, expressions=sides)
        return node

    return tree.transform(rewrite).sql(dialect="spark")


def spark_settings(model: MatchModel) -> dict[str, Any]:
    """The model's Splink settings with every condition in Spark SQL."""
    settings = copy.deepcopy(model.splink)
    settings.pop("sql_dialect", None)
    settings["linker_uid"] = model.splink.get("linker_uid", f"identity-v{model.version}")
    for comparison in settings["comparisons"]:
        for level in comparison["comparison_levels"]:
            level["sql_condition"] = spark_condition(level["sql_condition"])
    settings["blocking_rules_to_generate_predictions"] = [
        _blocking_rule(rule) for rule in settings["blocking_rules_to_generate_predictions"]
    ]
    return settings


def _blocking_rule(rule: str | dict[str, Any]) -> str | dict[str, Any]:
    if isinstance(rule, str):
        return spark_condition(rule)
    rule = dict(rule)
    rule.pop("sql_dialect", None)
    rule["blocking_rule"] = spark_condition(rule["blocking_rule"])
    return rule


def spark_corroborated_sql(model: MatchModel) -> str:
    """``match_model.corroborated_sql`` (a pair agrees on more than its names) in Spark SQL."""
    return spark_condition(corroborated_sql(model))
