"""Compare Splink's Spark similarity functions with DuckDB's on the same string pairs.

The identity model's conditions use DuckDB's ``jaro_winkler_similarity`` and ``damerau_levenshtein``; on
Spark they run as Splink's Scala UDFs (``customer360.spark.splink_model``). This prints how many pairs
differ, and how many differ across a threshold the model uses (Jaro-Winkler 0.8, 0.9, 0.92;
Damerau-Levenshtein <= 1, = 1).

    .venv/bin/python scripts/spark_similarity_probe.py
"""

from __future__ import annotations

import random

import duckdb
from pyspark.sql import SparkSession
from splink import SparkAPI
from splink.internals.spark.jar_location import similarity_jar_location

NAMES = [
    "martha", "marhta", "dwayne", "duane", "dixon", "dicksonx", "jan", "jansen", "johnson", "jonson", "smit",
    "smith", "a", "ab", "", "müller", "muller", "maria", "marie", "王芳", "王方", "o'brien", "obrien",
    "xiaoming", "xiaomng",
]  # fmt: skip
THRESHOLDS = (0.8, 0.9, 0.92)


def main() -> None:
    spark = (
        SparkSession.builder.master("local[2]")
        .config("spark.jars", similarity_jar_location())
        .config("spark.ui.enabled", "false")
        .getOrCreate()
    )
    SparkAPI(spark_session=spark)  # registers the jar's functions
    rng = random.Random(1)
    names = NAMES + [
        "".join(rng.choice("abcdeilmnorst") for _ in range(rng.randint(1, 9))) for _ in range(300)
    ]
    pairs = [(a, b) for a in names[:60] for b in names[:60]]
    pairs += [(names[i], names[i + 1]) for i in range(len(names) - 1)]
    con = duckdb.connect()
    con.execute("create table p (a varchar, b varchar)")
    con.executemany("insert into p values (?, ?)", pairs)
    on_duckdb = con.execute("select a, b, jaro_winkler_similarity(a, b), damerau_levenshtein(a, b) from p")
    spark.createDataFrame(pairs, "a string, b string").createOrReplaceTempView("p")
    on_spark = {
        (r.a, r.b): (r.jw, r.dl)
        for r in spark.sql(
            "select a, b, jaro_winkler(a, b) as jw, damerau_levenshtein(a, b) as dl from p"
        ).collect()
    }
    jw_differ, jw_flips, dl_differ, dl_flips = [], [], [], []
    for a, b, jw, dl in on_duckdb.fetchall():
        spark_jw, spark_dl = on_spark[(a, b)]
        if abs(jw - spark_jw) > 1e-12:
            jw_differ.append((a, b, jw, spark_jw))
            if any((jw >= t) != (spark_jw >= t) for t in THRESHOLDS):
                jw_flips.append((a, b, jw, spark_jw))
        if dl != spark_dl:
            dl_differ.append((a, b, dl, spark_dl))
            if (dl <= 1) != (spark_dl <= 1) or (dl == 1) != (spark_dl == 1):
                dl_flips.append((a, b, dl, spark_dl))
    print(f"pairs: {len(pairs)}")
    print(f"jaro_winkler differs: {len(jw_differ)}, max DuckDB value among them: "
          f"{max((d[2] for d in jw_differ if d[0] and d[1]), default=None)}")  # fmt: skip
    print(f"jaro_winkler across a model threshold: {len(jw_flips)} {jw_flips}")
    print(f"damerau_levenshtein differs: {len(dl_differ)}, across <= 1 or = 1: {len(dl_flips)}")
    spark.stop()


if __name__ == "__main__":
    main()
