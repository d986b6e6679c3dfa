"""No credentials in the repository: every file git tracks (and every new file not ignored) is scanned for
private keys, cloud keys, passwords in connection URLs and password/secret literals; connections come from
the environment.

Documented development placeholders are allowed (``DEV_PLACEHOLDERS``): ``.env.example`` holds ``change-me``
values to copy into an uncommitted ``.env``; the pseudonym salt's default ``customer360-dev-salt`` is the
embedded demo's, overridden by ``CUSTOMER360_PSEUDONYM_SALT`` everywhere else.
"""

from __future__ import annotations

import re
import subprocess
from pathlib import Path

import pytest
import yaml

PROJECT = Path(__file__).resolve().parents[2]
MAX_BYTES = 5 * 1024 * 1024

DEV_PLACEHOLDERS = re.compile(
    r"^(|change-me.*|\*+|<[^>]*>|x+|example.*|dummy|placeholder|customer360-dev-salt|redacted|\.\.\.)$",
    re.IGNORECASE,
)
# A value that is a reference, not a secret: an environment variable, a template, a format field.
REFERENCE = re.compile(
    r"^(\$\{.*\}|\$[A-Z_][A-Z0-9_]*|\{\{.*\}\}|\{[a-z_]*\}|%\(.*\)s|os\.environ.*|env_var\(.*\))$"
)

PATTERNS: dict[str, re.Pattern[str]] = {
    "private key": re.compile(
        r"-----BEGIN (?:RSA |EC |DSA |OPENSSH |PGP |ENCRYPTED )?PRIVATE KEY( BLOCK)?-----"
    ),
    "AWS access key id": re.compile(r"\b(?:AKIA|ASIA)[0-9A-Z]{16}\b"),
    "AWS secret access key": re.compile(r"(?i)aws_secret_access_key\s*[:=]\s*['\"]?([A-Za-z0-9/+=]{40})"),
    "GitHub token": re.compile(r"\bgh[pousr]_[A-Za-z0-9]{36,}\b"),
    "Slack token": re.compile(r"\bxox[abprs]-[A-Za-z0-9-]{10,}"),
    "Stripe live key": re.compile(r"\b[sr]k_live_[A-Za-z0-9]{16,}"),
}
# user:password@ in a URL; the password group is checked against placeholders and references.
URL_PASSWORD = re.compile(r"\b[a-z][a-z0-9+.\-]*://[^\s:/@'\"]+:([^\s@/'\"]+)@([^\s:/'\"]+)")
# Hosts reserved for documentation (RFC 2606): a URL to one is an example, whatever its password says.
EXAMPLE_HOSTS = re.compile(r"(^|\.)(example|example\.(com|org|net)|test|invalid)$", re.IGNORECASE)
# password = "..." / password: "..." / "password": "..." (Python, YAML, JSON, TOML, INI)
LITERAL = re.compile(
    r"(?i)[\"']?\b([a-z0-9_]*(?:password|passwd|secret|api_key|apikey|access_token|auth_token)[a-z0-9_]*)\b[\"']?"
    r"[ \t]*[:=][ \t]*(?P<q>[\"'])(?P<v>(?:(?!(?P=q))[^\n])*)(?P=q)"
)
# KEY=value lines of .env-style files
ENV_ASSIGNMENT = re.compile(
    r"(?m)^[ \t]*(?:export[ \t]+)?([A-Z0-9_]*(?:PASSWORD|SECRET|TOKEN|API_KEY|FERNET_KEY|SALT)[A-Z0-9_]*)"
    r"[ \t]*=[ \t]*(\S*)[ \t]*$"
)


def _allowed(value: str) -> bool:
    value = value.strip()
    return bool(DEV_PLACEHOLDERS.match(value) or REFERENCE.match(value))


def env_style(path: Path) -> bool:
    """Files of ``KEY=value`` lines: .env files, shell scripts, Dockerfiles, Makefiles, INI/CFG."""
    name = path.name
    return (
        name.startswith(".env")
        or name.endswith((".env", ".sh", ".ini", ".cfg"))
        or name
        in (
            "Dockerfile",
            "Makefile",
        )
    )


def find_credentials(text: str, env_file: bool = True) -> list[tuple[int, str]]:
    """(line number, what) for every credential-looking string in ``text``.

    ``env_file``: also check ``KEY=value`` lines (in code, ``NAME=...`` is a keyword argument, not a secret).
    """
    found: list[tuple[int, str]] = []

    def line_of(pos: int) -> int:
        return text.count("\n", 0, pos) + 1

    for what, pattern in PATTERNS.items():
        found += [(line_of(m.start()), what) for m in pattern.finditer(text)]
    for m in URL_PASSWORD.finditer(text):
        if not _allowed(m.group(1)) and not EXAMPLE_HOSTS.search(m.group(2)):
            found.append((line_of(m.start()), "password in a connection URL"))
    for m in LITERAL.finditer(text):
        if not _allowed(m.group("v")):
            found.append((line_of(m.start()), f"{m.group(1)} literal"))
    for m in ENV_ASSIGNMENT.finditer(text) if env_file else ():
        if not _allowed(m.group(2)):
            found.append((line_of(m.start()), f"{m.group(1)} assignment"))
    return found


def repository_files() -> list[Path]:
    """Files git tracks, plus new files not ignored (they are about to be committed)."""
    listed = subprocess.run(
        ["git", "ls-files", "--cached", "--others", "--exclude-standard", "-z"],
        cwd=PROJECT,
        capture_output=True,
        check=True,
    ).stdout.decode()
    files = [PROJECT / name for name in listed.split("\0") if name]
    return [p for p in files if p.is_file() and not p.is_symlink() and p.stat().st_size <= MAX_BYTES]


def test_given_known_credential_shapes_when_scanned_then_each_is_found():
    # GIVEN one sample of each credential shape (built at run time so this file holds none)
    key_header = "-----BEGIN " + "RSA PRIVATE KEY-----"
    samples = {
        "private key": key_header,
        "AWS access key id": "AKIA" + "ABCDEFGHIJKLMNOP",
        "password in a connection URL": "postgresql://loader:" + "s3cr3t-Pa55" + "@db:5432/x",
        "password literal": "pass" + 'word = "hunter2-real"',
        "DB_PASSWORD assignment": "DB_PASS" + "WORD=n0t-a-placeholder",
    }
    # WHEN scanned THEN every one is reported
    for expected, text in samples.items():
        assert [what for _, what in find_credentials(text)] == [expected], text


def test_given_placeholders_and_environment_references_when_scanned_then_nothing_is_reported():
    # GIVEN the shapes the repository uses on purpose
    text = "\n".join(
        [
            "password: \"{{ env_var('CUSTOMER360_PG_PASSWORD', '') }}\"",
            "postgresql+psycopg2://${POSTGRES_USER}:${POSTGRES_PASSWORD}@postgres:5432/airflow",
            "POSTGRES_PASSWORD=change-me",
            "CUSTOMER360_POSTGRES_URL=postgresql://customer360:secret@db.example:5432/customer360",
            "AIRFLOW_FERNET_KEY=",
            'pseudonym_salt = "customer360-dev-salt"',
            'return re.sub(r"://([^:/@]+):[^@]*@", r"://\\1:***@", url)',
        ]
    )
    # WHEN scanned THEN nothing is a credential
    assert find_credentials(text) == []


def test_given_every_repository_file_when_scanned_then_no_credential_is_committed():
    # GIVEN every file git tracks or is about to track
    files = repository_files()
    assert len(files) > 50, "git ls-files found too few files: is this a git checkout?"
    # WHEN each text file is scanned
    findings = []
    for path in files:
        data = path.read_bytes()
        if b"\x00" in data[:8192]:
            continue
        for line, what in find_credentials(data.decode("utf-8", errors="replace"), env_style(path)):
            findings.append(f"{path.relative_to(PROJECT)}:{line}: {what}")
    # THEN there is none: credentials belong in the environment or an Airflow connection
    assert findings == [], "credentials in the repository:\n" + "\n".join(findings)


def test_given_the_dbt_profiles_then_every_credential_comes_from_the_environment():
    # GIVEN dbt's committed profiles.yml
    profiles = yaml.safe_load((PROJECT / "dbt_project" / "profiles.yml").read_text(encoding="utf-8"))
    outputs = next(iter(profiles.values()))["outputs"]
    # WHEN its connection fields are read THEN each one is an env_var() call (or a path/number)
    for target, config in outputs.items():
        for field in ("user", "password", "host", "dbname", "path"):
            if field in config:
                assert "env_var(" in str(config[field]), (
                    f"profiles.yml {target}.{field} is not read from the environment"
                )


@pytest.mark.parametrize("variable", ["CUSTOMER360_POSTGRES_URL", "CUSTOMER360_PSEUDONYM_SALT"])
def test_given_connection_settings_when_set_in_the_environment_then_settings_use_them(
    monkeypatch, variable, tmp_path
):
    # GIVEN a value in the environment
    from customer360.settings import Settings

    monkeypatch.setenv(variable, "from-the-environment")
    # WHEN the settings are read THEN they carry it, and as_dict never shows the salt
    settings = Settings(home=tmp_path)
    field = variable.removeprefix("CUSTOMER360_").lower()
    assert getattr(settings, field) == "from-the-environment"
    assert "pseudonym_salt" not in settings.as_dict()
