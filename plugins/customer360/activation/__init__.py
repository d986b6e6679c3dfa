"""Activation (reverse ETL): audiences defined as data, sent to files, webhooks and a PostgreSQL table.

``activate`` is the one entry point (the DAG's ``activate`` task through ``customer360.pipeline.activate``,
and ``customer360 activate``); docs/activation.md describes the audience file, the destinations, the state
that keeps a rerun from sending twice, retries and dead letters, consent and the dry run.
"""

from customer360.activation.audiences import AudienceFileError, load_audiences
from customer360.activation.run import ActivationError, ActivationResult, activate, totals

__all__ = ["ActivationError", "ActivationResult", "AudienceFileError", "activate", "load_audiences", "totals"]
