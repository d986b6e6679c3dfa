#!/usr/bin/env bash
# What the test suite needs beyond the Python environment:
# - Debian's chromium and chromium-driver for the report's browser test;
# - a PostgreSQL server for the PostgreSQL warehouse tests (found via CUSTOMER360_TEST_POSTGRES_URL,
#   else 127.0.0.1:5432; tests/conftest.py starts a throwaway cluster with pg_ctl if neither answers);
# - Java for the Spark tests (Debian's openjdk-17-jre-headless; pyspark comes from the spark extra).
set -uo pipefail

if ! command -v chromium >/dev/null 2>&1 || ! command -v chromedriver >/dev/null 2>&1; then
  if [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null 2>&1; then
    echo "test setup: installing chromium and chromium-driver (Debian packages)"
    (apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium chromium-driver) \
      >/tmp/customer360-apt.log 2>&1 || echo "test setup: could not install chromium (see /tmp/customer360-apt.log)"
  else
    echo "test setup: chromium/chromedriver missing and cannot apt-get here; browser tests will say so"
  fi
fi

if ! command -v pg_ctl >/dev/null 2>&1 && ! ls /usr/lib/postgresql/*/bin/pg_ctl >/dev/null 2>&1; then
  if ! (exec 3<>/dev/tcp/127.0.0.1/5432) 2>/dev/null; then
    if [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null 2>&1; then
      echo "test setup: installing postgresql (Debian package)"
      (apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq postgresql) \
        >>/tmp/customer360-apt.log 2>&1 || echo "test setup: could not install postgresql"
    fi
  fi
fi
bash "$(dirname "$0")/older-duckdb.sh"
if ! command -v java >/dev/null 2>&1; then
  if [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null 2>&1; then
    echo "test setup: installing Java 17 for the Spark tests (Debian's openjdk-17-jre-headless)"
    (apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq openjdk-17-jre-headless) \
      >>/tmp/customer360-apt.log 2>&1 || echo "test setup: could not install openjdk-17-jre-headless"
  else
    echo "test setup: java missing and cannot apt-get here; the Spark tests will say so"
  fi
fi
exit 0
