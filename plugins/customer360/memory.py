"""Give back memory a finished stage no longer uses.

Arrow's allocator keeps freed memory for reuse, so after identity's full run the process still held
memory that no array used; the next stage in the same process (``customer360 run``, the
benchmark, a forked task runner) then started from that much more. The pipeline's identity and models
stages (``customer360.pipeline``) call this when they end, failed or not. DuckDB's share is handled by its own
setting (``customer360.warehouse.ALLOCATOR_CONFIG``).
"""

from __future__ import annotations


def release_unused_memory() -> None:
    """Return the memory Arrow's pool holds but no array uses to the system."""
    import pyarrow as pa

    pa.default_memory_pool().release_unused()
