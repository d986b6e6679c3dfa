"""The probabilistic match model: a Fellegi-Sunter model in Splink whose parameters come from the data.

Comparisons (each pair of records falls in the first level whose condition holds; a null level adds nothing):

* **given name** and **family name** (two comparisons; a given name equal to its own record's family name is
  no given name, as when it is missing): exact (term-frequency adjusted: a common name is
  weaker evidence), swapped (this record's given name is alike the other's family name and the reverse,
  Jaro-Winkler >= 0.92 both ways, or one the same and the other >= 0.80), Jaro-Winkler >= 0.92, one edit apart
  (given name only, both four letters or more: ``jakib`` and ``jakob``), Jaro-Winkler >= 0.80, an initial
  (given name only: ``J.`` and ``Jan``), the family name in the other's given name field (family name only:
  the other name was changed as well), different.
* **birth date**: exact, day and month transposed, one of day/month/year different, within a year, within
  ten years, different.
* **email**: exact, same domain with the local part one edit apart in its letters (digits equal: ``tweber55``
  and ``tweber56`` are two people; only when one side's local part is more than its name:
  ``maria.deboer@`` and ``maria_deboer@`` are namesakes as often as one person, and the name comparison
  already counts the name), same local part with the domain one edit apart (``gmial.com``), different.
  The same local part at another provider is not a level: it is as often two namesakes.
* **phone**: exact (E.164, or the digits of a number no region parses), same last 8 digits, different.
* **address** (one comparison: street, postal code and city are not independent): same street and postal
  code; similar street (Jaro-Winkler >= 0.9) and same postal code; similar street and a postal code one
  edit apart or a similar city; same postal code; same street elsewhere; postal code one edit apart; same
  city (term-frequency adjusted); similar city (Jaro-Winkler >= 0.9); different. "Same street" leaves spaces
  out (``1 hopegoodplace`` and ``1 hopegood place``).

Term frequencies: exact given names, family names and cities adjust the weight by how common the value is.

Training (``train_model``): u-probabilities from random pairs (fixed seed), m-probabilities by expectation
maximisation on pairs blocked on two fields at a time (name and birth date, birth date and postal code, name
and postal code, name and email: each session trains the comparisons outside its rule), the prior from pairs
that deterministic rules link. The result is a :class:`MatchModel` saved as a versioned JSON file
(``model_store``).

Scoring (``predict_pairs``): Splink scores the blocked pairs; a pair is kept at or above the threshold and
only when it agrees on more than the names (``CORROBORATING_LEVELS``).
"""

from __future__ import annotations

import logging
from dataclasses import dataclass, field
from typing import Any

import pyarrow as pa

from customer360.identity.blocking import BLOCK_COLUMNS, blocking_rules

log = logging.getLogger(__name__)

# Term-frequency adjustments: the most frequent values of these columns are kept in the model.
TF_COLUMNS = ("given_name", "surname", "city_fold")
TF_VALUES_KEPT = 20_000
EM_MIN_PAIRS = 100
MIN_TRAINING_RECORDS = 50

NAME_JW_HIGH = 0.92
NAME_JW_LOW = 0.80
NAME_EDIT_MIN_LENGTH = 4
STREET_JW = 0.90
CITY_JW = 0.90
PHONE_SUFFIX_DIGITS = 8
POSTAL_PREFIX = 3


# Given and family name in each other's fields: both alike the other record's (a swap and a typo often come
# together: ``Rednond Melissa`` / ``Melissa Redmond``), or one the same and the other still alike
# (``Tippins Hacry`` / ``Harry Tippins``).
_CROSS_GIVEN = 'jaro_winkler_similarity("given_name_l", "surname_r")'
_CROSS_FAMILY = 'jaro_winkler_similarity("surname_l", "given_name_r")'
SWAPPED_SQL = (
    f"(({_CROSS_GIVEN} >= {NAME_JW_HIGH} and {_CROSS_FAMILY} >= {NAME_JW_HIGH}) "
    f'or (("given_name_l" = "surname_r" or "surname_l" = "given_name_r") '
    f"and {_CROSS_GIVEN} >= {NAME_JW_LOW} and {_CROSS_FAMILY} >= {NAME_JW_LOW}))"
)
# One name in the other field, the other name different: ``Bullock Holly`` / ``Adele Bullock``. For the family
# name only (the given name comparison already says the given names differ).
CROSSED_FAMILY_SQL = '"surname_l" = "given_name_r" or "given_name_l" = "surname_r"'


def _null(condition: str) -> dict[str, Any]:
    return {"sql_condition": condition, "label_for_charts": "null", "is_null_level": True}


def _level(condition: str, label: str, m: float, u: float, **extra: Any) -> dict[str, Any]:
    return {"sql_condition": condition, "label_for_charts": label, "m_probability": m, "u_probability": u,
            **extra}  # fmt: skip


def comparisons() -> list[dict[str, Any]]:
    """The model's comparisons as Splink comparison dicts, with starting m/u values that training replaces."""
    jw = "jaro_winkler_similarity"
    # Given and family name are two comparisons (a typo in one is not a different person), and each has a
    # level for the other record's name in the other field: given and family name swapped.
    given = {
        "output_column_name": "given_name",
        "comparison_description": "given name",
        "comparison_levels": [
            # a given name equal to its own record's family name (``Ryan Ryan``) is the family name typed in
            # both fields: no given name to compare
            _null('"given_name_l" is null or "given_name_r" is null '
                  'or "given_name_l" = "surname_l" or "given_name_r" = "surname_r"'),
            _level('"given_name_l" = "given_name_r"', "exact", 0.8, 0.005,
                   tf_adjustment_column="given_name", tf_adjustment_weight=1.0),
            _level(SWAPPED_SQL, "swapped with family name", 0.01, 0.0001),
            _level(f'{jw}("given_name_l", "given_name_r") >= {NAME_JW_HIGH}', "Jaro-Winkler >= 0.92",
                   0.05, 0.001),
            # one letter typed wrong, left out, added or two swapped (``jakib`` / ``jakob``): Jaro-Winkler
            # weighs an early typo in a short name like a different name
            _level('damerau_levenshtein("given_name_l", "given_name_r") <= 1 '
                   f'and least(length("given_name_l"), length("given_name_r")) >= {NAME_EDIT_MIN_LENGTH}',
                   "one edit apart", 0.02, 0.002),
            _level(f'{jw}("given_name_l", "given_name_r") >= {NAME_JW_LOW}', "Jaro-Winkler >= 0.80",
                   0.02, 0.01),
            _level('left("given_name_l", 1) = left("given_name_r", 1) '
                   'and least(length("given_name_l"), length("given_name_r")) = 1', "initial", 0.01, 0.005),
            {"sql_condition": "ELSE", "label_for_charts": "different", "m_probability": 0.1,
             "u_probability": 0.98},
        ],
    }  # fmt: skip
    family = {
        "output_column_name": "family_name",
        "comparison_description": "family name",
        "comparison_levels": [
            _null('"surname_l" is null or "surname_r" is null'),
            _level('"surname_l" = "surname_r"', "exact", 0.8, 0.002,
                   tf_adjustment_column="surname", tf_adjustment_weight=1.0),
            _level(SWAPPED_SQL, "swapped with given name", 0.01, 0.0001),
            _level(f'{jw}("surname_l", "surname_r") >= {NAME_JW_HIGH}', "Jaro-Winkler >= 0.92", 0.05, 0.001),
            _level(f'{jw}("surname_l", "surname_r") >= {NAME_JW_LOW}', "Jaro-Winkler >= 0.80", 0.02, 0.01),
            _level(CROSSED_FAMILY_SQL, "in the other's given name", 0.01, 0.001),
            {"sql_condition": "ELSE", "label_for_charts": "different", "m_probability": 0.1,
             "u_probability": 0.98},
        ],
    }  # fmt: skip
    birth_date = {
        "output_column_name": "birth_date",
        "comparison_description": "birth date",
        "comparison_levels": [
            _null('"birth_date_l" is null or "birth_date_r" is null'),
            _level('"birth_date_l" = "birth_date_r"', "exact", 0.9, 0.0001),
            _level('year("birth_date_l") = year("birth_date_r") '
                   'and month("birth_date_l") = day("birth_date_r") '
                   'and day("birth_date_l") = month("birth_date_r")',
                   "day and month transposed", 0.005, 0.00001),
            _level('(case when year("birth_date_l") = year("birth_date_r") then 1 else 0 end '
                   '+ case when month("birth_date_l") = month("birth_date_r") then 1 else 0 end '
                   '+ case when day("birth_date_l") = day("birth_date_r") then 1 else 0 end) = 2',
                   "one part different", 0.02, 0.003),
            _level('abs(date_diff(\'day\', "birth_date_l", "birth_date_r")) <= 365', "within a year",
                   0.01, 0.01),
            _level('abs(date_diff(\'day\', "birth_date_l", "birth_date_r")) <= 3653', "within ten years",
                   0.01, 0.1),
            {"sql_condition": "ELSE", "label_for_charts": "different", "m_probability": 0.04,
             "u_probability": 0.997},
        ],
    }  # fmt: skip
    # Namesakes have the same or nearly the same local part (jan.jansen@ at two providers, maria.deboer@ and
    # maria_deboer@): when the local part is just the name it repeats the name comparison, so a local part one
    # edit apart counts only when one side's is more than its name. The same local part at another provider
    # is no level of its own (it is too often two namesakes), except a domain one edit apart (a typo).
    not_names = 'not ("email_local_is_name_l" and "email_local_is_name_r")'
    email = {
        "output_column_name": "email",
        "comparison_description": "email",
        "comparison_levels": [
            _null('"email_key_l" is null or "email_key_r" is null'),
            _level('"email_key_l" = "email_key_r"', "exact", 0.6, 0.0001),
            _level('"email_domain_l" = "email_domain_r" '
                   'and damerau_levenshtein("email_local_l", "email_local_r") <= 1 '
                   'and least(length("email_local_l"), length("email_local_r")) >= 5 '
                   """and regexp_replace("email_local_l", '[^0-9]', '', 'g') """
                   """= regexp_replace("email_local_r", '[^0-9]', '', 'g') """
                   f'and {not_names}', "same domain, local part one edit apart", 0.01, 0.00001),
            _level('"email_local_l" = "email_local_r" and length("email_local_l") >= 5 '
                   'and damerau_levenshtein("email_domain_l", "email_domain_r") = 1',
                   "same local part, domain one edit apart", 0.005, 0.000005),
            {"sql_condition": "ELSE", "label_for_charts": "different", "m_probability": 0.3,
             "u_probability": 0.9994},
        ],
    }  # fmt: skip
    phone = {
        "output_column_name": "phone",
        "comparison_description": "phone",
        "comparison_levels": [
            _null('"phone_digits_l" is null or "phone_digits_r" is null'),
            _level('"phone_key_l" = "phone_key_r"', "exact", 0.6, 0.0001),
            _level(f'length("phone_digits_l") >= {PHONE_SUFFIX_DIGITS} and length("phone_digits_r") >= '
                   f'{PHONE_SUFFIX_DIGITS} and right("phone_digits_l", {PHONE_SUFFIX_DIGITS}) = '
                   f'right("phone_digits_r", {PHONE_SUFFIX_DIGITS})', "same last 8 digits", 0.01, 0.0001),
            {"sql_condition": "ELSE", "label_for_charts": "different", "m_probability": 0.3,
             "u_probability": 0.9998},
        ],
    }  # fmt: skip
    # One address comparison: street, postal code and city are strongly correlated (a street sits in one
    # postal code and city), and counting them as three independent agreements would let a shared address
    # outweigh two different names, emails and phones (a household).
    # a space dropped or added is the same street (``1 hopegoodplace`` / ``1 hopegood place``)
    street_same = """replace("street_fold_l", ' ', '') = replace("street_fold_r", ' ', '')"""
    street_like = f'{jw}("street_fold_l", "street_fold_r") >= {STREET_JW}'
    postal_same = '"postal_key_l" = "postal_key_r"'
    postal_typo = 'damerau_levenshtein("postal_key_l", "postal_key_r") <= 1'
    city_like = f'{jw}("city_fold_l", "city_fold_r") >= {CITY_JW}'
    address = {
        "output_column_name": "address",
        "comparison_description": "address (street, postal code, city)",
        "comparison_levels": [
            _null('coalesce("street_fold_l", "postal_key_l", "city_fold_l") is null '
                  'or coalesce("street_fold_r", "postal_key_r", "city_fold_r") is null'),
            _level(f"{street_same} and {postal_same}", "same street and postal code", 0.6, 0.0005),
            _level(f"{street_like} and {postal_same}", "similar street, same postal code", 0.02, 0.0002),
            _level(f"{street_like} and ({postal_typo} or {city_like})",
                   "similar street, postal code one edit apart or similar city", 0.02, 0.0001),
            _level(postal_same, "same postal code", 0.02, 0.003),
            _level(street_same, "same street elsewhere", 0.01, 0.0002),
            _level(postal_typo, "postal code one edit apart", 0.01, 0.01),
            _level('"city_fold_l" = "city_fold_r"', "same city", 0.05, 0.05,
                   tf_adjustment_column="city_fold", tf_adjustment_weight=1.0),
            _level(city_like, "similar city", 0.01, 0.01),
            {"sql_condition": "ELSE", "label_for_charts": "different", "m_probability": 0.05,
             "u_probability": 0.93},
        ],
    }  # fmt: skip
    return [given, family, birth_date, email, phone, address]


def splink_settings(prior: float = 1e-4) -> dict[str, Any]:
    return {
        "link_type": "dedupe_only",
        "unique_id_column_name": "idx",
        "probability_two_random_records_match": prior,
        "comparisons": comparisons(),
        "blocking_rules_to_generate_predictions": blocking_rules(),
        "retain_matching_columns": False,
        "retain_intermediate_calculation_columns": False,
        "additional_columns_to_retain": [],
    }


@dataclass
class MatchModel:
    """A trained model: Splink's settings (with m/u), the term frequencies, and the project's metadata."""

    version: int
    splink: dict[str, Any]
    term_frequencies: dict[str, list[list[Any]]]
    training_window: dict[str, str | None]
    training_records: int
    seed: int
    created_at: str
    splink_version: str
    extra: dict[str, Any] = field(default_factory=dict)

    def as_dict(self) -> dict[str, Any]:
        return {
            "format": "customer360-identity-model/1",
            "version": self.version,
            "created_at": self.created_at,
            "training_window": self.training_window,
            "training_records": self.training_records,
            "seed": self.seed,
            "splink_version": self.splink_version,
            "extra": self.extra,
            "splink": self.splink,
            "term_frequencies": self.term_frequencies,
        }

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> MatchModel:
        return cls(
            version=int(data["version"]),
            splink=data["splink"],
            term_frequencies=data.get("term_frequencies", {}),
            training_window=data.get("training_window", {}),
            training_records=int(data.get("training_records", 0)),
            seed=int(data.get("seed", 0)),
            created_at=str(data.get("created_at", "")),
            splink_version=str(data.get("splink_version", "")),
            extra=data.get("extra", {}),
        )

    def weights(self) -> list[dict[str, Any]]:
        """One row per comparison level: comparison, level, m, u and match weight log2(m/u)."""
        import math

        rows = []
        for comparison in self.splink["comparisons"]:
            for level in comparison["comparison_levels"]:
                if level.get("is_null_level"):
                    continue
                m, u = level.get("m_probability"), level.get("u_probability")
                weight = math.log2(m / u) if m and u else None
                rows.append(
                    {
                        "comparison": comparison["output_column_name"],
                        "level": level.get("label_for_charts", level["sql_condition"]),
                        "m": m,
                        "u": u,
                        "weight": weight,
                    }
                )
        return rows

    @property
    def prior(self) -> float:
        return float(self.splink["probability_two_random_records_match"])


def _linker(con: object, relation: str, settings: dict[str, Any], name: str) -> Any:
    from splink import DuckDBAPI, Linker

    db_api = DuckDBAPI(connection=con)
    frame = db_api.register(relation, table_name=name)
    return Linker(frame, settings, log_level=None), db_api


def train_model(
    con: object,
    relation: str,
    *,
    version: int,
    seed: int,
    max_pairs: float,
    training_window: dict[str, str | None],
    created_at: str,
) -> MatchModel:
    """Train on ``relation`` (the Splink input: ``idx``, ``det_label``, comparison and ``bk_*`` columns).

    Deterministic for the same rows and seed: u from a seeded sample, EM from fixed blocking rules."""
    import splink
    from splink import block_on

    (rows,) = con.execute(f"select count(*) from {relation}").fetchall()[0]
    if rows < MIN_TRAINING_RECORDS:
        # Too few records to estimate anything: the starting values, said so in the model file.
        log.warning("identity model: %s named record(s) are too few to train; starting values kept", rows)
        return MatchModel(
            version=version,
            splink={**splink_settings(), "linker_uid": f"identity-v{version}"},
            term_frequencies={column: [] for column in TF_COLUMNS},
            training_window=training_window,
            training_records=int(rows),
            seed=seed,
            created_at=created_at,
            splink_version=splink.__version__,
            extra={"trained": False, "reason": f"{rows} named records (fewer than {MIN_TRAINING_RECORDS})"},
        )
    linker, _ = _linker(con, relation, splink_settings(), "identity_training_input")
    try:
        deterministic = [
            "l.given_name = r.given_name and l.surname = r.surname and l.birth_date = r.birth_date",
            "l.email_key = r.email_key and l.given_name = r.given_name and l.surname = r.surname",
            "l.phone_key = r.phone_key and l.given_name = r.given_name and l.surname = r.surname",
        ]
        try:
            linker.training.estimate_probability_two_random_records_match(deterministic, recall=0.8)
        except Exception as exc:  # no pair meets the rules: keep the starting prior
            log.warning("identity model: prior not estimated (%s); using the starting value", exc)
        try:
            linker.training.estimate_u_using_random_sampling(
                max_pairs=max_pairs, seed=seed, min_count_per_level=None, num_chunks=1
            )
        except Exception as exc:  # too few records for a sample: the starting u values stay
            log.warning("identity model: u not estimated (%s); starting values kept", exc)
        # Each session trains the comparisons outside its blocking rule on pairs that rule makes; the rules
        # pair records that share two independent things, so that a household (same address, email or phone)
        # or a namesake is rarely taken for one person.
        sessions = (
            ("surname", "birth_date"),
            ("given_name", "birth_date"),
            ("birth_date", "postal_key"),
            ("given_name", "surname", "postal_key"),
            ("given_name", "surname", "email_key"),
        )
        for columns in sessions:
            # A session without enough pairs is skipped before it starts: Splink's session would fail after
            # taking the comparisons of its rule out of the model.
            pairs = _pairs_sharing(con, relation, columns)
            if pairs < EM_MIN_PAIRS:
                log.warning("identity model: EM on %s skipped (%s pairs)", " + ".join(columns), pairs)
                continue
            linker.training.estimate_parameters_using_expectation_maximisation(
                block_on(*columns), estimate_without_term_frequencies=True
            )
        model_settings = cap_at_exact_level(linker.misc.save_model_to_json())
    finally:
        linker.table_management.delete_tables_created_by_splink_from_db()
    model_settings["linker_uid"] = f"identity-v{version}"
    return MatchModel(
        version=version,
        splink=model_settings,
        term_frequencies=term_frequencies(con, relation),
        training_window=training_window,
        training_records=int(rows),
        seed=seed,
        created_at=created_at,
        splink_version=splink.__version__,
        extra={"trained": True},
    )


def _pairs_sharing(con: object, relation: str, columns: tuple[str, ...]) -> int:
    present = " and ".join(f"{c} is not null" for c in columns)
    (pairs,) = con.execute(
        f"""select coalesce(sum(n * (n - 1) / 2), 0)::bigint from (
            select count(*) as n from {relation} where {present} group by {", ".join(columns)})"""
    ).fetchall()[0]
    return int(pairs)


def cap_at_exact_level(model_settings: dict[str, Any]) -> dict[str, Any]:
    """No partial agreement may weigh more than its comparison's exact agreement (its first level).

    A level EM never observes in the training pairs keeps its starting m, and with a tiny u from random
    pairs it can end up heavier than the exact level (``same postal code`` above ``same street and postal
    code``). Such a level's m is lowered to give the exact level's weight; the capped levels are listed in
    ``capped_levels`` of the comparison."""
    for comparison in model_settings["comparisons"]:
        levels = [lv for lv in comparison["comparison_levels"] if not lv.get("is_null_level")]
        exact = levels[0]
        if not exact.get("m_probability") or not exact.get("u_probability"):
            continue
        ceiling = exact["m_probability"] / exact["u_probability"]
        capped = []
        for level in levels[1:]:
            m, u = level.get("m_probability"), level.get("u_probability")
            if m and u and m / u > ceiling:
                level["m_probability"] = u * ceiling
                capped.append(level.get("label_for_charts"))
        if capped:
            comparison["comparison_description"] = (
                f"{comparison.get('comparison_description', '')} (capped at exact: {', '.join(capped)})"
            )
    return model_settings


def term_frequencies(con: object, relation: str) -> dict[str, list[list[Any]]]:
    """The most frequent values of each TF column with their share of the non-null values."""
    result: dict[str, list[list[Any]]] = {}
    for column in TF_COLUMNS:
        rows = con.execute(
            f"""select {column}, count(*) / sum(count(*)) over () as tf
            from {relation} where {column} is not null group by {column}
            order by tf desc, {column} limit {TF_VALUES_KEPT}"""
        ).fetchall()
        result[column] = [[value, float(tf)] for value, tf in rows]
    return result


def predict_pairs(con: object, relation: str, model: MatchModel, threshold: float) -> tuple[pa.Table, int]:
    """Score the pairs the model's blocking rules produce over ``relation``; pairs at or above ``threshold``
    as ``(idx_l, idx_r, match_probability, match_weight)``, ``idx_l < idx_r``, ordered; and how many pairs
    were compared."""
    settings = dict(model.splink)
    settings["linker_uid"] = model.splink.get("linker_uid", f"identity-v{model.version}")
    linker, db_api = _linker(con, relation, settings, "identity_predict_input")
    try:
        for column in TF_COLUMNS:
            values = model.term_frequencies.get(column, [])
            table = pa.table(
                {
                    column: pa.array([v for v, _ in values], pa.string()),
                    f"tf_{column}": pa.array([t for _, t in values], pa.float64()),
                }
            )
            frame = db_api.register(table, table_name=f"identity_tf_{column}")
            linker.table_management.register_term_frequency_lookup(frame, column)
        blocked = linker.inference.compute_blocked_pairs_for_predict()
        (candidates,) = con.execute(f"select count(*) from {blocked.physical_name}").fetchall()[0]
        predictions = linker.inference.predict(threshold_match_probability=threshold, warning_mode="never")
        sides = ", ".join(f'l.{c} as "{c}_l", r.{c} as "{c}_r"' for c in PAIR_COLUMNS)
        scored = con.sql(
            f"""with pairs as (
                select p.idx_l, p.idx_r, p.match_probability, p.match_weight, {sides}
                from {predictions.physical_name} as p
                join {relation} as l on l.idx = p.idx_l
                join {relation} as r on r.idx = p.idx_r
            )
            select least(idx_l, idx_r) as idx_l, greatest(idx_l, idx_r) as idx_r, match_probability,
                match_weight
            from pairs
            where {corroborated_sql(model)}
            order by 1, 2"""
        ).to_arrow_table()
    finally:
        linker.table_management.delete_tables_created_by_splink_from_db()
        for column in TF_COLUMNS:
            con.execute(f"drop view if exists identity_tf_{column}")
    return scored, int(candidates)


# Agreement on the names alone never links two records: namesakes (the same full name in the same city) are
# too common. A pair also needs one of these levels or a stronger one in its comparison.
CORROBORATING_LEVELS = {
    "birth_date": "one part different",
    "email": "same local part, domain one edit apart",
    "phone": "same last 8 digits",
    "address": "postal code one edit apart",
}


# the columns the comparisons read, as ``<column>_l`` / ``<column>_r``
PAIR_COLUMNS = (
    "given_name", "surname", "birth_date", "email_key", "email_local", "email_domain", "email_local_is_name",
    "phone_key", "phone_digits", "street_fold", "postal_key", "city_fold",
)  # fmt: skip


def corroborated_sql(model: MatchModel) -> str:
    """SQL over a pair's ``<column>_l`` / ``<column>_r`` columns: the pair falls in a corroborating level (or
    a stronger one) of at least one comparison, i.e. it agrees on more than its names. A level holds when
    its condition does and no null level does (as Splink assigns levels)."""
    conditions = []
    for comparison in model.splink["comparisons"]:
        name = comparison["output_column_name"]
        if name not in CORROBORATING_LEVELS:
            continue
        nulls = [lv["sql_condition"] for lv in comparison["comparison_levels"] if lv.get("is_null_level")]
        levels = [lv for lv in comparison["comparison_levels"] if not lv.get("is_null_level")]
        labels = [lv.get("label_for_charts") for lv in levels]
        strong = levels[: labels.index(CORROBORATING_LEVELS[name]) + 1]
        agree = " or ".join(f"coalesce(({lv['sql_condition']}), false)" for lv in strong)
        present = " and ".join(f"not coalesce(({c}), false)" for c in nulls) or "true"
        conditions.append(f"(({present}) and ({agree}))")
    return "(" + " or ".join(conditions or ["true"]) + ")"


def splink_input_sql(records: str, sizes: str, max_block_size: int) -> str:
    """The Splink input: ``records`` (``idx``, ``det_label`` and the block columns from
    ``blocking.block_columns_sql``) with every key of a block outside 2..``max_block_size`` rows nulled
    (``sizes``: ``blocking, block_key, block_size``)."""
    joins = "\n".join(
        f"left join {sizes} as s_{c} on s_{c}.blocking = '{c}' and s_{c}.block_key = r.{c}"
        for c in BLOCK_COLUMNS
    )
    keys = ",\n    ".join(
        f"case when s_{c}.block_size between 2 and {int(max_block_size)} then r.{c} end as {c}"
        for c in BLOCK_COLUMNS
    )
    return f"select r.* exclude ({', '.join(BLOCK_COLUMNS)}),\n    {keys}\nfrom {records} as r\n{joins}"
