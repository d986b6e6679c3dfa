#!/usr/bin/env bash
# DuckDB releases analysts have installed, for the test that opens the published snapshot with each: 1.5
# (the newest 1.x) and 1.0 (the oldest the default CUSTOMER360_SNAPSHOT_STORAGE_VERSION=v1.0.0 promises).
# Installed beside the project, never into its environment (which runs DuckDB 2.x).
set -uo pipefail
for version in 1.5.6 1.0.0; do
  target="var/cache/duckdb-$version"
  if [ ! -d "$target/duckdb" ]; then
    echo "test setup: installing duckdb $version into $target (for tests/unit/test_snapshot_access.py)"
    python3 -m pip install --quiet --disable-pip-version-check --no-deps --only-binary=:all: \
      --target "$target" "duckdb==$version" || echo "test setup: could not install duckdb $version"
  fi
done
exit 0
