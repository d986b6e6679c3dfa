# customer360 image for the production-like deployment (docker-compose.yml): Airflow 3 + dbt + GX,
# installed from uv.lock exactly as `make run` installs them. The developer tooling
# (plugins/customer360_dev: data generator, benchmarks) stays out: only plugins/customer360 is copied.
FROM python:3.11-slim-bookworm

ENV PYTHONDONTWRITEBYTECODE=1 \
    PYTHONUNBUFFERED=1 \
    UV_PROJECT_ENVIRONMENT=/opt/venv \
    PATH=/opt/venv/bin:$PATH \
    AIRFLOW_HOME=/opt/airflow

RUN apt-get update \
 && apt-get install -y --no-install-recommends libpq5 tini curl \
 && rm -rf /var/lib/apt/lists/* \
 && pip install --no-cache-dir uv \
 && useradd --create-home --uid 50000 airflow

WORKDIR /opt/customer360
COPY pyproject.toml uv.lock README.md ./
COPY plugins/customer360 ./plugins/customer360
# bytecode compiled once at build: with PYTHONDONTWRITEBYTECODE every task process would recompile its imports
RUN uv sync --frozen --no-dev --compile-bytecode

COPY dags ./dags
COPY dbt_project ./dbt_project
COPY expectations ./expectations
COPY config ./config

RUN mkdir -p /opt/airflow /opt/customer360/var && chown -R airflow /opt/airflow /opt/customer360/var
USER airflow
ENTRYPOINT ["/usr/bin/tini", "--"]
CMD ["airflow", "version"]
