"""Personal data: pseudonyms match dbt, the leak scanner finds raw emails/phones and nothing else, erasure
removes a person from everything the pipeline writes and they do not come back.

Fast tests use a hand-built warehouse (tests/support/privacy_warehouse.py); the ``slow`` ones run the
pipeline on generated data.
"""

from __future__ import annotations

import json
import subprocess
import sys
from datetime import date
from pathlib import Path

import duckdb
import pytest

from customer360.privacy.erasure import (
    ErasureRequest,
    ErasureRequestError,
    erase,
    pending,
    process_queue,
    submit,
)
from customer360.privacy.pseudonym import (
    customer_key,
    identifier_hash,
    identifier_hash_sql,
    mask_email,
    mask_phone,
)
from customer360.privacy.scan import dbt_fixture_values, find_personal_data, scan
from customer360.publish import current_database, current_snapshot
from customer360.publish.snapshot import publish_marts, storage_version
from customer360.settings import Settings
from tests.support import privacy_warehouse
from tests.support.pipeline_run import PROJECT, run_day, stage_env
from tests.support.shared_runs import END, assert_ok, clone_home

EVA, TOM, LOAD_DATE = privacy_warehouse.EVA, privacy_warehouse.TOM, privacy_warehouse.LOAD_DATE
# Folders under the home the pipeline does not write: the sources' deliveries and the generator's truth.
NOT_WRITTEN_BY_THE_PIPELINE = ("landing", "ground_truth")


# --- helpers: where could a person still be? ------------------------------------------------------------


def _text_columns(con, catalog: str) -> list[tuple[str, str, str]]:
    return con.execute(
        "select table_schema, table_name, column_name from information_schema.columns "
        "where table_catalog = ? and (data_type like 'VARCHAR%' or data_type = 'JSON')",
        [catalog],
    ).fetchall()


def database_mentions(path: Path, needles: list[str]) -> list[str]:
    """Every table.column of a DuckDB file holding one of ``needles`` (case-insensitive substring)."""
    found = []
    with duckdb.connect(str(path), read_only=True) as con:
        catalog = con.execute("select current_database()").fetchone()[0]
        for schema, table, column in _text_columns(con, catalog):
            for needle in needles:
                hits = con.execute(
                    f'select count(*) from "{schema}"."{table}" where contains(lower("{column}"), ?)',
                    [needle.lower()],
                ).fetchone()[0]
                if hits:
                    found.append(f"{path.name} {schema}.{table}.{column}: {needle!r} x{hits}")
    return found


def home_mentions(settings: Settings, needles: list[str]) -> list[str]:
    """Every file under the home (but the landing zone) whose bytes or tables hold one of ``needles``."""
    found = []
    for path in sorted(settings.home.rglob("*")):
        relative = path.relative_to(settings.home)
        if not path.is_file() or path.is_symlink() or relative.parts[0] in NOT_WRITTEN_BY_THE_PIPELINE:
            continue
        data = path.read_bytes().lower()
        for needle in needles:
            for form in {needle, json.dumps(needle)[1:-1]}:
                if form.lower().encode() in data:
                    found.append(f"{relative}: {needle!r}")
        if path.suffix == ".duckdb":
            found += database_mentions(path, needles)
        elif path.suffix == ".parquet":
            with duckdb.connect() as con:
                con.execute(f"create view p as select * from read_parquet('{path}')")
                for (column,) in con.execute(
                    "select column_name from information_schema.columns where table_name = 'p' "
                    "and data_type like 'VARCHAR%'"
                ).fetchall():
                    for needle in needles:
                        if con.execute(
                            f'select count(*) from p where contains(lower("{column}"), ?)', [needle.lower()]
                        ).fetchone()[0]:
                            found.append(f"{relative} {column}: {needle!r}")
    return found


# --- pseudonyms and masks -------------------------------------------------------------------------------


def test_given_a_customer_id_then_customer_key_equals_what_the_dbt_macro_computes():
    # GIVEN dbt's pseudonymize macro: md5('<salt>' || customer_id)
    with duckdb.connect() as con:
        in_sql = con.execute("select md5('s4lt' || 'C0123456789ab')").fetchone()[0]
    # THEN the Python pseudonym is the same value
    assert customer_key("C0123456789ab", "s4lt") == in_sql


@pytest.mark.parametrize(
    ("kind", "value"),
    [
        ("email", "  Eva.Jansen@Gmail.com "),
        ("phone", "+31 6 1234 5678"),
        ("phone", "06-12345678"),
        ("record", "crm|c-1"),
    ],
)
def test_given_an_identifier_then_its_hash_in_sql_equals_the_python_hash(kind, value):
    # GIVEN the same identifier hashed in Python and in DuckDB (ingest's suppression)
    with duckdb.connect() as con:
        in_sql = con.execute(
            f"select {identifier_hash_sql(kind, '$v')}", {"v": value, "salt": "s"}
        ).fetchone()[0]
    # THEN both agree, and every format of one phone number gives one hash
    assert identifier_hash(kind, value, "s") == in_sql
    assert identifier_hash("phone", "+31 6 1234 5678", "s") == identifier_hash("phone", "0612345678", "s")


def test_given_masks_then_they_match_the_dbt_macros_and_the_scanner_does_not_flag_them():
    # GIVEN masked values as dbt writes them THEN they carry no raw email or phone
    assert mask_email("eva.jansen@gmail.com") == "e***@gmail.com"
    assert mask_phone("+31612345678") == "+3161****678"
    assert find_personal_data("e***@gmail.com +3161****678 7f3a9c0e1b2d4f5a6b7c8d9e0f1a2b3c") == []


@pytest.mark.parametrize(
    "text",
    [
        "eva.jansen@gmail.com",
        "(023) 203 0353",
        "+31 6 1234 5678",
        "0031612345678",
        "01783 3022091",
        "138 1234 5678",
    ],
)
def test_given_a_raw_email_or_phone_in_any_usual_format_then_the_scanner_finds_it(text):
    assert len(find_personal_data(f'{{"note": "{text}"}}')) == 1


def test_given_dates_amounts_and_ids_then_the_scanner_finds_nothing():
    text = '2026-11-20T10:47:33 0.0612345678 C00000096 A3908178 1763412345 "order_count": 13, md5 0a12345678'
    assert find_personal_data(text) == []


def test_given_a_uuid_shaped_like_a_phone_then_the_scanner_skips_it_but_finds_a_phone_beside_it():
    # GX names its batch definitions with random UUIDs; one starting "08309508-4005" once read as a phone
    uuid = "08309508-4005-4bea-a0ec-5f2884b86570"
    assert find_personal_data(f'{{"id": "{uuid}"}}') == []
    assert find_personal_data(f'{{"id": "{uuid.upper()}", "note": "06-12345678"}}') == [
        ("phone", "06-12345678")
    ]


# --- the scan -------------------------------------------------------------------------------------------


def test_given_leaks_in_a_mart_a_snapshot_a_parquet_file_and_a_log_then_the_scan_names_each_location(
    tmp_path,
):
    # GIVEN a warehouse whose mart holds a raw email, published with it, and a run file with a phone
    settings = Settings(home=tmp_path)
    privacy_warehouse.build_privacy_warehouse(settings)
    with duckdb.connect(str(settings.warehouse_path)) as con:
        con.execute("create table marts.leaky as select 'eva.jansen@gmail.com' as contact")
    publish_marts(settings, LOAD_DATE, "r1")
    # WHEN the scan runs
    report = scan(settings)
    locations = {f.location.split(":")[0] for f in report.findings}
    # THEN it names the mart column, the snapshot table, its Parquet file, the run file and the log
    assert "warehouse marts.leaky.contact" in locations
    assert any(loc.endswith("marts.duckdb main.leaky.contact") for loc in locations)
    assert any(loc.endswith("leaky.parquet.contact") for loc in locations)
    assert any(loc.endswith("quality/raw.json") for loc in locations)
    assert any(loc.endswith("dbt/logs/dbt.log") for loc in locations)
    # and it never prints the value it found
    assert "eva.jansen@gmail.com" not in json.dumps(report.as_dict())


def test_given_a_constant_of_a_dbt_macro_in_compiled_sql_then_the_scan_does_not_report_it():
    # GIVEN identity_blocklist()'s placeholder phone numbers, compiled into a model's SQL and dbt's log
    allowed = dbt_fixture_values(PROJECT / "dbt_project")
    compiled = "and regexp_replace(phone, '[^0-9]', '', 'g') not in ('0612345678', '0201234567')"
    assert find_personal_data(compiled) != []
    # THEN values written in the project's code are nobody's, and a number beside them still is somebody's
    assert find_personal_data(compiled, allowed) == []
    assert find_personal_data(f"{compiled} -- 020 203 0353", allowed) == [("phone", "020 203 0353")]


def test_given_data_docs_with_a_leaking_page_then_the_scan_finds_it_and_skips_the_shipped_vendor_files(
    tmp_path,
):
    from customer360.quality.data_docs import ASSETS_DIR, VENDOR_DIR, localize_site

    # GIVEN a run's Data Docs site, localized as the pipeline does (its pages then use static/vendor/), whose
    # validation page shows a sample row with a raw email
    settings = Settings(home=tmp_path)
    site = settings.runs_dir / "2026-11-20" / "gx" / "data_docs" / "local_site"
    page = site / "validations" / "raw_crm_contacts" / "run.html"
    page.parent.mkdir(parents=True)
    page.write_text(
        '<html><head><script src="https://code.jquery.com/jquery-3.7.1.min.js"></script></head>'
        "<body><table><tr><td>eva.jansen@gmail.com</td></tr></table></body></html>",
        encoding="utf-8",
    )
    (site / "index.html").write_text("<html><body>index</body></html>", encoding="utf-8")
    localize_site(site)
    vendor = site / VENDOR_DIR
    # and the shipped library files hold strings that look like personal data (their authors' addresses)
    shipped = vendor / "bootstrap-table-1.19.1.min.css"
    assert find_personal_data(shipped.read_text(encoding="utf-8")) != []
    # and one vendored file was changed after it was copied, and a file the code does not ship was added
    tampered = vendor / "jquery-3.7.1.min.js"
    tampered.write_bytes((ASSETS_DIR / "jquery-3.7.1.min.js").read_bytes() + b"\n// tom.bakker@gmail.com\n")
    (vendor / "extra.js").write_text("var owner = '06-12345678';\n", encoding="utf-8")
    # WHEN the scan runs
    report = scan(settings)
    flagged = {f.location.rsplit(":", 1)[0] for f in report.findings}
    # THEN it names the page, the changed file and the unknown file, and no shipped library file
    assert flagged == {str(page), str(tampered), str(vendor / "extra.js")}
    assert str(page) in report.scanned and str(shipped) not in report.scanned
    assert "eva.jansen@gmail.com" not in json.dumps(report.as_dict())


# --- erasure on a hand-built warehouse ------------------------------------------------------------------


@pytest.fixture
def erased(tmp_path):
    settings = Settings(home=tmp_path)
    privacy_warehouse.build_privacy_warehouse(settings)
    publish_marts(settings, LOAD_DATE, "r1")
    before = current_snapshot(settings)
    result = erase(settings, ErasureRequest.new(email="EVA.Jansen@gmail.com"))
    return settings, result, before


def test_given_an_erasure_by_email_then_nothing_of_the_person_remains_anywhere_the_pipeline_writes(erased):
    settings, result, _ = erased
    # THEN no table of any schema, no published snapshot or Parquet file, no run file or log names her
    needles = [EVA["email"], EVA["phone"], EVA["e164"], EVA["name"], "c-1", "W-1", "L-9", "Rozenstraat"]
    assert home_mentions(settings, needles) == []
    # and every source record resolved to her customer id went, even the one found only through the id (T-1)
    assert result.removed["raw.pos_transactions"] == 1
    assert result.customers == 2 and result.source_records == 4


def test_given_an_erasure_then_other_people_stay_and_only_their_mention_of_her_is_blanked(erased):
    settings = erased[0]
    with duckdb.connect(str(settings.warehouse_path), read_only=True) as con:
        tom = con.execute("select count(*) from raw.crm_contacts where email = ?", [TOM["email"]]).fetchone()[
            0
        ]
        referral = con.execute("select email, referred_email from raw.marketing_events").fetchall()
        xref = con.execute("select count(*) from identity.customer_source_xref").fetchone()[0]
    assert tom == 1 and xref == 3
    assert referral == [(TOM["email"], None)]
    assert home_mentions(settings, [TOM["email"]]) != []


def test_given_an_erasure_then_every_loaded_file_still_reconciles_and_the_log_has_no_personal_data(erased):
    settings, result, _ = erased
    with duckdb.connect(str(settings.warehouse_path), read_only=True) as con:
        unbalanced = con.execute(
            "select count(*) from audit.file_manifest where rows_read <> rows_loaded + rows_quarantined"
        ).fetchone()[0]
        raw_vs_manifest = con.execute(
            "select m.rows_loaded, (select count(distinct _source_line) from raw.crm_contacts) "
            "from audit.file_manifest as m where channel = 'crm_contacts'"
        ).fetchone()
        log = con.execute("select * from audit.erasure_log").fetchall()
    assert unbalanced == 0
    assert raw_vs_manifest[0] == raw_vs_manifest[1]
    assert len(log) == 1 and log[0][0] == result.request_id and log[0][-1] == "done"
    text = json.dumps(log, default=str).lower()
    assert EVA["email"] not in text and "jansen" not in text and "12345678" not in text


def test_given_an_erasure_then_the_current_snapshot_is_rewritten_and_repointed(erased):
    settings, result, before = erased
    after = current_snapshot(settings)
    assert after != before and not before.exists() and result.published_snapshots == 1
    with duckdb.connect(str(current_database(settings)), read_only=True) as con:
        assert con.execute("select count(*) from dim_customers").fetchone()[0] == 1
    manifest = json.loads((after / "manifest.json").read_text())
    assert manifest["erasures"][0]["request_id"] == result.request_id


def test_given_an_erasure_then_the_rewritten_snapshot_keeps_the_storage_version_analysts_read(erased):
    settings = erased[0]
    assert storage_version(current_database(settings)) == f"{settings.snapshot_storage_version}+"


def test_given_an_erased_person_when_a_new_file_delivers_them_again_then_ingest_suppresses_their_rows(erased):
    # GIVEN the person was erased, and a new CRM file carries her (another phone format) and a new person
    settings = erased[0]
    folder = settings.landing_root / "crm_contacts" / "2026-11-21"
    folder.mkdir(parents=True)
    (folder / "crm_contacts.csv").write_text(
        "contact_id,updated_at,first_name,last_name,email,phone\n"
        "c-9,2026-11-21T10:00:00,Eva,Jansen,,+31 6 1234 5678\n"
        "c-10,2026-11-21T11:00:00,Nina,Vos,nina.vos@gmail.com,\n",
        encoding="utf-8",
    )
    # WHEN ingest loads it
    from customer360 import pipeline

    detail = pipeline.ingest("crm_contacts", date(2026, 11, 21), "after_erasure", settings)
    # THEN her row is not in raw, it is counted as quarantined without content, the file reconciles
    assert detail["rows_read"] == 2 and detail["rows_loaded"] == 1 and detail["rows_quarantined"] == 1
    with duckdb.connect(str(settings.warehouse_path), read_only=True) as con:
        ids = [r[0] for r in con.execute("select contact_id from raw.crm_contacts order by 1").fetchall()]
        quarantined = con.execute(
            "select reason, raw_record from audit.quarantine where run_id = 'after_erasure'"
        ).fetchall()
    assert "c-9" not in ids and "c-10" in ids
    assert quarantined[0][0].startswith("suppressed") and quarantined[0][1] is None


def test_given_queued_requests_when_the_queue_is_processed_then_done_files_go_and_bad_ones_stay(tmp_path):
    settings = Settings(home=tmp_path)
    privacy_warehouse.build_privacy_warehouse(settings)
    path = submit(settings, ErasureRequest.new(phone=EVA["phone"]))
    assert oct(path.stat().st_mode & 0o777) == "0o600"
    bad = path.with_name("zz-broken.json")
    bad.write_text("{not json", encoding="utf-8")
    with pytest.raises(ErasureRequestError, match="zz-broken.json"):
        pending(settings)
    bad.unlink()
    results = process_queue(settings)
    assert [r.request_id for r in results] == [path.stem] and not path.exists()
    assert home_mentions(settings, [EVA["email"], EVA["name"]]) == []


def test_given_a_request_without_identifiers_then_it_is_refused():
    with pytest.raises(ErasureRequestError, match="email, a phone number or both"):
        ErasureRequest.new()


def test_given_the_erasure_dag_when_parsed_then_it_is_thin_and_uses_the_warehouse_pool():
    code = f"""
import importlib.util, json, sys
spec = importlib.util.spec_from_file_location("d", {str(PROJECT / "dags" / "customer360_erasure.py")!r})
module = importlib.util.module_from_spec(spec); spec.loader.exec_module(module)
dag = module.customer360_erasure()
heavy = [m for m in ("pandas", "duckdb", "great_expectations", "dbt", "pyarrow") if m in sys.modules]
pools = sorted({{t.pool for t in dag.tasks}})
print(json.dumps({{"heavy": heavy, "pools": pools, "tags": sorted(dag.tags)}}))
"""
    out = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, check=True, cwd=PROJECT
    )
    result = json.loads(out.stdout.strip().splitlines()[-1])
    assert result == {
        "heavy": [],
        "pools": ["customer360_warehouse"],
        "tags": ["customer360", "erasure", "privacy"],
    }


# --- end to end on generated data -----------------------------------------------------------------------


@pytest.mark.slow
def test_given_a_pipeline_run_then_the_leak_scan_finds_nothing(single_run):
    report = scan(single_run[0])
    assert report.clean, "\n".join(f.sentence() for f in report.findings)


@pytest.mark.slow
def test_given_a_generated_person_when_erased_and_the_date_reruns_then_they_are_gone_and_stay_gone(
    single_run, tmp_path
):
    # GIVEN a home after a run, and a person with an email, a phone and a CRM record
    settings = clone_home(single_run[0], tmp_path / "home")
    with duckdb.connect(str(settings.warehouse_path), read_only=True) as con:
        email, phone, first, last = con.execute(
            "select email, phone, first_name, last_name from raw.crm_contacts "
            "where email like '%@%' and phone is not null "
            "and first_name is not null and last_name is not null "
            "order by contact_id limit 1"
        ).fetchone()
    needles = [email, phone, f"{first} {last}"]
    assert home_mentions(settings, needles) != []  # the person is there before
    # WHEN the person is erased through the command line
    done = subprocess.run(
        [sys.executable, "-m", "customer360.cli", "erase", "--email", email, "--phone", phone],
        env=stage_env(settings),
        cwd=PROJECT,
        capture_output=True,
        text=True,
        timeout=600,
    )
    assert done.returncode == 0, done.stderr[-3000:]
    # THEN nothing the pipeline wrote names them
    assert home_mentions(settings, needles) == []
    # WHEN the date runs again THEN the run passes every gate and they did not come back
    assert_ok(run_day(settings, END, f"after_erasure__{END}"))
    assert home_mentions(settings, needles) == []
    report = scan(settings)
    assert report.clean, [finding.sentence() for finding in report.findings]
