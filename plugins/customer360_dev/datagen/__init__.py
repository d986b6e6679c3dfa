"""Synthetic landing data for every channel, with ground truth (``customer360 generate``).

- ``people``: the universe of persons, their true identifiers, rendered variants and behaviour parameters.
- ``behaviour``: the event schedule (BG/NBD-like purchases with service-driven churn, tickets, CRM
  versions, marketing events, surveys).
- ``orders``, ``crm``, ``service``, ``marketing``: render one day of one channel as text columns.
- ``identifiers``: which name / e-mail / phone / address variant a record carries.
- ``dirt``: invalid values and exact duplicates; ``writer``: CSV, JSON lines and Parquet output.
- ``truth``: ground truth files; ``generate``: the orchestration and its stats; ``commands``: the CLI.
"""
