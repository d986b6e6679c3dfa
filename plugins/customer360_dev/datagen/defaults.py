"""Generator defaults that the CLI needs without importing numpy or pyarrow."""

from __future__ import annotations

# Share of records that carry one invalid value (the landing contract rejects them).
DEFAULT_DIRT = 0.005
DEFAULT_SEED = 42
# Where the ground truth goes unless --truth says otherwise: a sibling of the landing folder.
TRUTH_DIR_NAME = "ground_truth"
