"""Synthetic contact records with a known truth, for benchmarks and tests of identity resolution.

Not the pipeline's data generator (``customer360_dev.datagen``): this writes the identity stage's *input*
table (``intermediate.int_contact_records_unioned``) directly, vectorised with numpy and Arrow, so that
resolution can be timed at scale (``customer360 identity bench --persons 1000000``) and checked against the
truth without running ingest and dbt. It reproduces the difficulties that matter for matching: the same person
in several channels with variant emails (case, gmail dots and +tags, googlemail, domain typos), phone formats,
Chinese names in hanzi and in pinyin (either order), duplicate CRM records, households sharing an address,
namesakes, and shared role emails and placeholder phones that must not merge people.
"""

from __future__ import annotations

import tempfile
import time
from datetime import date
from pathlib import Path

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

WESTERN_FIRST = (
    "Jan Piet Kees Anna Sanne Emma Lotte Daan Sem Lucas Noah Julia Mila Tess Sophie Eva Lisa "
    "Thomas Max Ruben "
    "Bram Lars Finn Jesse Sara Fleur Iris Anouk Femke Maud Hans Klaus Jürgen Günter Anke Ute Sabine Stefan "
    "Oliver George Harry Jack Amelia Olivia Isla Emily Chloé Léa Zoë Hélène François Renée "
    "Noël Inès Björn Søren "
    "José María Ana Luis Marta"
).split()
WESTERN_LAST = (
    "de Vries|Jansen|de Jong|Bakker|Visser|Smit|Meijer|de Boer|Mulder|de Groot|Bos|Vos|Peters|Hendriks|"
    "van Dijk|van den Berg|Dekker|Brouwer|Müller|Schmidt|Schneider|Fischer|Weber|Meyer|Wagner|Becker|Schäfer|"
    "Smith|Jones|Taylor|Brown|Williams|Wilson|Johnson|Davies|Robinson|Wright|Dubois|Lefèvre|Moreau|Girard|"
    "Peeters|Janssens|Maes|Jacobs|Mertens|Willems|García|López|Martínez|Sánchez|Núñez|Ødegård|Åberg"
).split("|")
CHINESE_SURNAMES = (
    ("王", "Wang"),
    ("李", "Li"),
    ("张", "Zhang"),
    ("刘", "Liu"),
    ("陈", "Chen"),
    ("杨", "Yang"),
    ("赵", "Zhao"),
    ("黄", "Huang"),
    ("周", "Zhou"),
    ("吴", "Wu"),
    ("欧阳", "Ouyang"),
    ("司马", "Sima"),
)
CHINESE_GIVEN = (
    ("小明", "Xiaoming"),
    ("伟", "Wei"),
    ("芳", "Fang"),
    ("娜", "Na"),
    ("秀英", "Xiuying"),
    ("敏", "Min"),
    ("静", "Jing"),
    ("丽", "Li"),
    ("强", "Qiang"),
    ("磊", "Lei"),
    ("军", "Jun"),
    ("洋", "Yang"),
    ("勇", "Yong"),
    ("艳", "Yan"),
    ("杰", "Jie"),
    ("娟", "Juan"),
    ("涛", "Tao"),
    ("明", "Ming"),
    ("超", "Chao"),
    ("秀兰", "Xiulan"),
    ("霞", "Xia"),
    ("平", "Ping"),
    ("刚", "Gang"),
)
DOMAINS = (
    "gmail.com",
    "gmail.com",
    "hotmail.com",
    "outlook.com",
    "ziggo.nl",
    "kpn.nl",
    "web.de",
    "yahoo.com",
    "live.nl",
    "googlemail.com",
)
CHINESE_DOMAINS = ("qq.com", "163.com", "gmail.com")
CITIES = (
    "Amsterdam",
    "Rotterdam",
    "Utrecht",
    "Den Haag",
    "Eindhoven",
    "Groningen",
    "Berlin",
    "London",
    "Paris",
    "Antwerpen",
)
STREETS = (
    "Kerkstraat",
    "Dorpsstraat",
    "Hoofdstraat",
    "Stationsweg",
    "Schoolstraat",
    "Molenweg",
    "Julianalaan",
    "Beatrixstraat",
    "Lindenlaan",
    "Hauptstraße",
    "High Street",
    "Rue de la Paix",
)
SHARED_EMAILS = ("info@bakkerij.nl", "sales@firma.nl", "noreply@shop.nl", "office@kantoor.nl")
PLACEHOLDER_PHONES = ("0000000000", "1234567890", "06-00000000")

CHANNEL_RATES = {  # records per person (Poisson means), CRM is separate
    "web_orders": 0.40,
    "pos_transactions": 0.20,
    "support_tickets": 0.10,
    "marketing_events": 0.15,
    "surveys": 0.05,
}
CRM_SHARE = 0.60
CRM_DUPLICATE_SHARE = 0.03
HOUSEHOLD_SHARE = 0.10
CHINESE_SHARE = 0.18


def synthetic_records(persons: int, seed: int = 7, observed_year: int = 2026) -> tuple[pa.Table, pa.Table]:
    """``(records, truth)``: records in the layout of ``int_contact_records_unioned``; truth with
    ``source_channel, source_record_id, person_id``."""
    rng = np.random.default_rng(seed)
    people = _people(rng, persons)
    parts = [_channel(rng, people, "crm_contacts", _crm_people(rng, persons))]
    for channel, rate in CHANNEL_RATES.items():
        parts.append(
            _channel(rng, people, channel, np.repeat(np.arange(persons), rng.poisson(rate, persons)))
        )
    records = pa.concat_tables(parts)
    observed = pa.array(
        (
            np.datetime64(f"{observed_year - 1}-01-01T00:00:00")
            + rng.integers(0, 365 * 86400, records.num_rows).astype("timedelta64[s]")
        ).astype("datetime64[us]")
    )
    records = records.set_column(records.schema.get_field_index("observed_at"), "observed_at", observed)
    truth = records.select(["source_channel", "source_record_id", "person_id"])
    return records.drop_columns(["person_id"]), truth


def _people(rng: np.random.Generator, n: int) -> dict[str, np.ndarray]:
    ids = np.arange(n)
    chinese = rng.random(n) < CHINESE_SHARE
    wf = rng.integers(0, len(WESTERN_FIRST), n)
    wl = rng.integers(0, len(WESTERN_LAST), n)
    cs = rng.integers(0, len(CHINESE_SURNAMES), n)
    cg = rng.integers(0, len(CHINESE_GIVEN), n)
    first = np.where(
        chinese, np.array([g[1] for g in CHINESE_GIVEN], object)[cg], np.array(WESTERN_FIRST, object)[wf]
    )
    last = np.where(
        chinese, np.array([s[1] for s in CHINESE_SURNAMES], object)[cs], np.array(WESTERN_LAST, object)[wl]
    )
    hanzi = (
        np.array([s[0] for s in CHINESE_SURNAMES], object)[cs]
        + np.array([g[0] for g in CHINESE_GIVEN], object)[cg]
    )
    country = np.where(chinese, "CN", rng.choice(np.array(["NL", "NL", "NL", "DE", "GB", "BE"], object), n))
    # Households: some persons take over the address and surname of an earlier person.
    household = rng.random(n) < HOUSEHOLD_SHARE
    head = np.where(household, rng.integers(0, np.maximum(ids, 1)), ids)
    head[0] = 0
    last = np.where(household & ~chinese & ~chinese[head], last[head], last)
    country = np.where(household, country[head], country)
    postal_num = rng.integers(1000, 9999, n)
    postal_letters = rng.integers(0, 26 * 26, n)
    postal = np.array(
        [
            f"{p} {chr(65 + q // 26)}{chr(65 + q % 26)}"
            for p, q in zip(postal_num, postal_letters, strict=True)
        ],
        object,
    )
    street = (
        np.array(STREETS, object)[rng.integers(0, len(STREETS), n)]
        + " "
        + rng.integers(1, 200, n).astype(str).astype(object)
    )
    city = np.array(CITIES, object)[rng.integers(0, len(CITIES), n)]
    postal, street, city = postal[head], street[head], city[head]
    local = np.array(
        [_ascii(f"{a}.{b}").lower().replace(" ", "") for a, b in zip(first, last, strict=True)], object
    )
    local = local + np.char.mod("%d", ids).astype(object)
    domain = np.where(
        chinese,
        np.array(CHINESE_DOMAINS, object)[rng.integers(0, 3, n)],
        np.array(DOMAINS, object)[rng.integers(0, len(DOMAINS), n)],
    )
    mobile = rng.integers(10_000_000, 59_999_999, n)  # 06-1.. to 06-5..: valid Dutch mobile ranges
    birth = np.datetime64("1940-01-01") + rng.integers(0, 65 * 365, n).astype("timedelta64[D]")
    return {
        "id": ids,
        "chinese": chinese,
        "first": first,
        "last": last,
        "hanzi": hanzi,
        "country": country,
        "postal": postal,
        "street": street,
        "city": city,
        "local": local,
        "domain": domain,
        "mobile": mobile,
        "birth": birth,
        "has_account": rng.random(n) < 0.7,
        "has_loyalty": rng.random(n) < 0.5,
    }


def _crm_people(rng: np.random.Generator, n: int) -> np.ndarray:
    base = np.flatnonzero(rng.random(n) < CRM_SHARE)
    duplicates = base[rng.random(len(base)) < CRM_DUPLICATE_SHARE]
    return np.sort(np.concatenate([base, duplicates]))


def _channel(
    rng: np.random.Generator, people: dict[str, np.ndarray], channel: str, who: np.ndarray
) -> pa.Table:
    m = len(who)
    p = {key: values[who] for key, values in people.items()}
    crm = channel == "crm_contacts"
    dup = np.zeros(m, bool)
    if crm:
        dup[1:] = who[1:] == who[:-1]  # second CRM record of the same person
    presence = {
        "crm_contacts": (0.95, 0.8, 1.0),
        "web_orders": (1.0, 0.5, 1.0),
        "pos_transactions": (0.35, 0.35, 0.0),
        "support_tickets": (0.9, 0.4, 1.0),
        "marketing_events": (1.0, 0.0, 0.0),
        "surveys": (1.0, 0.0, 0.0),
    }[channel]
    has_email = rng.random(m) < presence[0]
    has_phone = rng.random(m) < presence[1]
    has_name = rng.random(m) < presence[2]
    account = np.where(p["has_account"] & ~dup, "A" + np.char.mod("%07d", p["id"]).astype(object), None)
    if channel in ("pos_transactions", "marketing_events"):
        account = (
            np.where(rng.random(m) < 0.3, account, None)
            if channel == "marketing_events"
            else np.full(m, None)
        )
    if channel == "support_tickets":
        account = np.where(rng.random(m) < 0.5, account, None)
    loyalty = np.where(p["has_loyalty"] & ~dup, "L" + np.char.mod("%08d", p["id"]).astype(object), None)
    if channel not in ("crm_contacts", "pos_transactions"):
        loyalty = np.full(m, None)
    email = _emails(rng, p, dup)
    email = np.where(has_email, email, None)
    shared = rng.random(m) < 0.005
    email = np.where(shared, np.array(SHARED_EMAILS, object)[rng.integers(0, len(SHARED_EMAILS), m)], email)
    phone = _phones(rng, p)
    phone = np.where(has_phone, phone, None)
    phone = np.where(
        rng.random(m) < 0.005, np.array(PLACEHOLDER_PHONES, object)[rng.integers(0, 3, m)], phone
    )
    if channel == "pos_transactions":
        keep = (loyalty != None) | (email != None) | (phone != None)  # noqa: E711 (object arrays)
    else:
        keep = (email != None) | (phone != None) | (account != None) | has_name  # noqa: E711
    first, last, full = _names(rng, p, channel)
    first, last, full = (np.where(has_name, x, None) for x in (first, last, full))
    with_address = channel in ("crm_contacts", "web_orders")
    table = pa.table(
        {
            "person_id": pa.array(p["id"].astype(str).astype(object)),
            "source_channel": pa.array(np.full(m, channel, object)),
            "source_record_id": pa.array(
                channel[:3] + "-" + np.char.mod("%09d", np.arange(m)).astype(object)
            ),
            "observed_at": pa.nulls(m, pa.timestamp("us")),
            "account_id": pa.array(account, pa.string()),
            "loyalty_id": pa.array(loyalty, pa.string()),
            "email": pc.utf8_lower(pa.array(email, pa.string())),
            "phone": pa.array(phone, pa.string()),
            "first_name": pa.array(first, pa.string()),
            "last_name": pa.array(last, pa.string()),
            "full_name": pa.array(full, pa.string()),
            "birth_date": pa.array(
                np.where(crm & (rng.random(m) < 0.9), p["birth"], np.datetime64("NaT")), pa.date32()
            ),
            "street": pa.array(np.where(with_address, p["street"], None), pa.string()),
            "postal_code": pa.array(np.where(with_address, p["postal"], None), pa.string()),
            "city": pa.array(np.where(with_address, p["city"], None), pa.string()),
            "country_code": pa.array(np.where(rng.random(m) < 0.9, p["country"], None), pa.string()),
        }
    )
    return table.filter(pa.array(keep))


def _emails(rng: np.random.Generator, p: dict[str, np.ndarray], dup: np.ndarray) -> np.ndarray:
    m = len(p["id"])
    local, domain = p["local"].copy(), p["domain"].copy()
    variant = rng.random(m)
    gmail = np.isin(domain, ["gmail.com", "googlemail.com"])
    microsoft = np.isin(domain, ["hotmail.com", "outlook.com", "live.nl"])
    dotted = np.array([s.replace(".", "") for s in local], object)
    local = np.where(gmail & (variant < 0.15), dotted, local)
    local = np.where((gmail | microsoft) & (variant > 0.85), local + "+shop", local)
    domain = np.where((domain == "gmail.com") & (variant > 0.5) & (variant < 0.6), "googlemail.com", domain)
    typo = rng.random(m) < 0.015
    typo_domain = np.array([d[:1] + d[2] + d[1] + d[3:] for d in domain], object)
    domain = np.where(typo, typo_domain, domain)
    upper = rng.random(m) < 0.1
    email = local + "@" + domain
    email = np.where(upper, np.array([e.upper() for e in email], object), email)
    # A duplicate CRM record often carries a second, different address of the same person.
    return np.where(dup & (rng.random(m) < 0.5), "x" + local + "@mail.com", email)


def _phones(rng: np.random.Generator, p: dict[str, np.ndarray]) -> np.ndarray:
    m = len(p["id"])
    digits = p["mobile"].astype(str).astype(object)
    style = rng.integers(0, 4, m)
    nl = np.select(
        [style == 0, style == 1, style == 2],
        ["06-" + digits, "+31 6 " + digits, "00316" + digits],
        default="06" + digits,
    )
    cn = np.where(style < 2, "13" + digits + "0", "+86 13" + digits + "0")
    de = np.where(style < 2, "0151 " + digits, "+49 151 " + digits)
    gb = np.where(style < 2, "07" + digits + "9", "+44 7" + digits + "9")
    short = np.array([d[:7] for d in digits], object)
    be = np.where(style < 2, "047" + short, "+32 47" + short)
    country = p["country"]
    return np.select(
        [country == "CN", country == "DE", country == "GB", country == "BE"], [cn, de, gb, be], default=nl
    )


def _names(rng: np.random.Generator, p: dict[str, np.ndarray], channel: str) -> tuple[np.ndarray, ...]:
    m = len(p["id"])
    first, last = p["first"].copy(), p["last"].copy()
    r = rng.random(m)
    first = np.where(r < 0.05, np.array([_ascii(f) for f in first], object), first)
    last = np.where(r < 0.05, np.array([_ascii(x) for x in last], object), last)
    chinese = p["chinese"]
    none = np.full(m, None, object)
    if channel in ("support_tickets", "surveys", "marketing_events"):
        swapped = chinese & (r > 0.5)
        full = np.where(swapped, last + " " + first, first + " " + last)
        full = np.where(chinese & (r < 0.3), p["hanzi"], full)
        return none, none, full
    hanzi = chinese & (r < 0.5) & (channel == "crm_contacts")
    return np.where(hanzi, None, first), np.where(hanzi, None, last), np.where(hanzi, p["hanzi"], None)


def _ascii(text: str) -> str:
    import unicodedata

    return "".join(c for c in unicodedata.normalize("NFKD", text) if not unicodedata.combining(c))


INPUT_DDL = """create or replace table intermediate.int_contact_records_unioned (
    source_channel varchar, source_record_id varchar, observed_at timestamp, account_id varchar,
    loyalty_id varchar, email varchar, phone varchar, first_name varchar, last_name varchar, full_name
    varchar,
    birth_date date, street varchar, postal_code varchar, city varchar, country_code varchar)"""


def write_input_table(con: object, records: pa.Table) -> None:
    """Create ``intermediate.int_contact_records_unioned`` from an Arrow table with its columns."""
    con.execute("create schema if not exists intermediate")
    con.execute(INPUT_DDL)
    con.register("synthetic_records", records)
    try:
        con.execute(
            "insert into intermediate.int_contact_records_unioned by name select * from synthetic_records"
        )
    finally:
        con.unregister("synthetic_records")


DAY_SHARE = 1 / 365  # a day's records: one year of records arrive over 365 days
DAILY_OBSERVED_AT = np.datetime64("2026-01-01T12:00:00", "us")


def day_records(records: pa.Table, truth: pa.Table, seed: int) -> tuple[pa.Table, pa.Table]:
    """One more day of the same people: a seeded sample of ``DAY_SHARE`` of the records, each seen again as
    a new record (``<id>-d1``) observed the next day; and the truth rows of those records."""
    rng = np.random.default_rng(seed + 1)
    picked = np.flatnonzero(rng.random(records.num_rows) < DAY_SHARE)
    day = records.take(pa.array(picked, pa.int64()))
    ids = pc.binary_join_element_wise(day.column("source_record_id"), "-d1", "")
    day = day.set_column(day.schema.get_field_index("source_record_id"), "source_record_id", ids)
    day = day.set_column(
        day.schema.get_field_index("observed_at"),
        "observed_at",
        pa.array(np.full(day.num_rows, DAILY_OBSERVED_AT), pa.timestamp("us")),
    )
    day_truth = truth.take(pa.array(picked, pa.int64()))
    day_truth = day_truth.set_column(
        day_truth.schema.get_field_index("source_record_id"), "source_record_id", ids
    )
    return day, day_truth


def _cpu_seconds() -> float:
    import resource

    usage = resource.getrusage(resource.RUSAGE_SELF)
    return usage.ru_utime + usage.ru_stime


def run_benchmark(
    persons: int,
    seed: int = 7,
    directory: Path | None = None,
    *,
    daily: bool = False,
    daily_only: bool = False,
    full_only: bool = False,
) -> dict[str, object]:
    """Generate, resolve and evaluate in a scratch warehouse; report timings, peak memory and accuracy.

    ``daily``: then add one day's records (``day_records``) and resolve again, as the daily run does
    (incremental). ``daily_only``: only that second step, on the warehouse an earlier benchmark with the
    same ``persons`` and ``seed`` left in ``directory``. ``full_only``: only a full resolution of the records
    on that warehouse (its day too, when an earlier ``--daily`` added it) with the model the earlier
    benchmark trained: the first full resolution of an installation that has a model. CPU seconds are the
    process's user + system time (DuckDB's threads included) spent in each resolution."""

    from customer360.identity.resolution import resolve
    from customer360.settings import Settings
    from customer360.warehouse import connect

    if daily_only and directory is None:
        raise ValueError("--daily-only needs --dir: the folder of an earlier benchmark's warehouse")
    if full_only and directory is None:
        raise ValueError("--full-only needs --dir: the folder of an earlier benchmark's warehouse")
    if daily_only and full_only:
        raise ValueError("--daily-only and --full-only are two different runs: pick one")
    scratch = Path(directory) if directory else Path(tempfile.mkdtemp(prefix="identity-bench-"))
    settings = Settings(home=scratch)
    tick = time.perf_counter()
    records, truth = synthetic_records(persons, seed)
    generated = time.perf_counter() - tick
    report: dict[str, object] = {"persons": persons, "records": records.num_rows}
    if full_only:
        return _full_resolution(report, settings, records, truth, seed, generated)
    if not daily_only:
        with connect(settings) as con:
            write_input_table(con, records)
        cpu = _cpu_seconds()
        result = resolve(settings, date(2026, 1, 1), f"bench-{persons}-{seed}")
        report.update(
            {
                "generate_seconds": round(generated, 2),
                "resolve_seconds": result.seconds,
                "resolve_cpu_seconds": round(_cpu_seconds() - cpu, 1),
                "model_trained": result.model_trained,
                "step_seconds": {k: round(v, 2) for k, v in result.step_seconds.items()},
                "customers": result.customers,
                "edges_by_rule": result.edges_by_rule,
                "guard_rejections": result.rejections_by_guard,
                "candidate_pairs": result.candidate_pairs,
                "blocks_skipped": result.blocks_skipped,
            }
        )
    if daily or daily_only:
        day, day_truth = day_records(records, truth, seed)
        truth = pa.concat_tables([truth, day_truth])
        with connect(settings) as con:
            con.register("day_records", day)
            try:
                con.execute(
                    "insert into intermediate.int_contact_records_unioned by name select * from day_records"
                )
            finally:
                con.unregister("day_records")
        cpu = _cpu_seconds()
        result = resolve(settings, date(2026, 1, 2), f"bench-{persons}-{seed}-day")
        report.update(
            {
                "daily_records": day.num_rows,
                "daily_mode": result.mode,
                "daily_records_resolved": result.records_resolved,
                "daily_resolve_seconds": result.seconds,
                "daily_resolve_cpu_seconds": round(_cpu_seconds() - cpu, 1),
                "daily_step_seconds": {k: round(v, 2) for k, v in result.step_seconds.items()},
                "customers": result.customers,
            }
        )
    return _with_accuracy(report, settings, truth)


def _with_accuracy(report: dict[str, object], settings: object, truth: pa.Table) -> dict[str, object]:
    """``report`` with the run's peak memory and its pairwise accuracy against ``truth``."""
    import resource

    from customer360.identity.evaluate import pairwise_metrics
    from customer360.warehouse import connect

    with connect(settings) as con:
        con.register("bench_truth", truth)
        metrics = pairwise_metrics(con, "identity.customer_source_xref", "bench_truth")
    report.update(
        {
            "peak_rss_mib": round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024),
            "precision": round(metrics.precision, 5),
            "recall": round(metrics.recall, 5),
            "false_merges": metrics.false_merges,
            "missed_merges": metrics.missed_merges,
            "warehouse": str(settings.warehouse_path),
        }
    )
    return report


def _full_resolution(
    report: dict[str, object],
    settings: object,
    records: pa.Table,
    truth: pa.Table,
    seed: int,
    generated: float,
) -> dict[str, object]:
    """``run_benchmark(full_only=True)``: resolve every record of the kept warehouse again, as a full run
    (``CUSTOMER360_FULL_REFRESH``) with the model it has, timed and evaluated."""
    from dataclasses import replace

    from customer360.identity.resolution import resolve
    from customer360.warehouse import connect

    with connect(settings) as con:
        (rows,) = con.execute("select count(*) from intermediate.int_contact_records_unioned").fetchall()[0]
    as_of = date(2026, 1, 1)
    if rows > records.num_rows:  # an earlier --daily added its day
        day, day_truth = day_records(records, truth, seed)
        truth = pa.concat_tables([truth, day_truth])
        as_of = date(2026, 1, 2)
    cpu = _cpu_seconds()
    result = resolve(replace(settings, full_refresh=True), as_of, f"bench-full-{report['persons']}-{seed}")
    report.update(
        {
            "records": int(rows),
            "generate_seconds": round(generated, 2),
            "full_mode": result.mode,
            "full_resolve_seconds": result.seconds,
            "full_resolve_cpu_seconds": round(_cpu_seconds() - cpu, 1),
            "model_trained": result.model_trained,
            "full_step_seconds": {k: round(v, 2) for k, v in result.step_seconds.items()},
            "customers": result.customers,
        }
    )
    return _with_accuracy(report, settings, truth)
