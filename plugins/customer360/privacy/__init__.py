"""Personal-data protection: pseudonyms and masks, the leak scanner, erasure requests and suppression.

- ``pseudonym``: ``customer_key`` (as dbt writes it), salted identifier hashes, masks;
- ``scan``: ``customer360 privacy scan`` looks for raw emails and phone numbers where BI users, operators and
  log readers look;
- ``erasure``: ``customer360 erase`` and the ``customer360_erasure`` DAG remove a person from everything the
  pipeline writes and record it in ``audit.erasure_log`` without personal data;
- ``suppression``: the erased identifiers' hashes that ingest consults, so a person does not come back.
"""
