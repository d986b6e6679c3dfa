"""Names of the temporary relations a group write registers on the warehouse connection (``file_group.py``).

A group is one or more landing files of one channel written in one transaction; every row carries the
position of its file in the group (``FILE_INDEX``), and ``FILES`` holds each file's lineage and bounds.
"""

from __future__ import annotations

FILE_INDEX = "_file_index"
# One row per file of the group: FILE_INDEX, _source_file, _load_date (DATE), _file_sha256,
# _late_bound (TIMESTAMPTZ, checks.LATE_BOUND).
FILES = "_ingest_files"
# The rows being checked: the reader's columns (contract columns, _source_line, ...) plus FILE_INDEX.
BATCH = "_ingest_batch"
# One row per failing record: FILE_INDEX, _source_line, _reason, _column.
BAD = "_ingest_bad"
# Records the reader could not parse: FILE_INDEX, line_number, column_name, reason, raw_record.
REJECTS = "_ingest_rejects"
