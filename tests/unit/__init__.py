"""Unit tests, one module per area, on small fixture data: no end-to-end pipeline run (make test-fast)."""
