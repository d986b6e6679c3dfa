"""customer360: a scheduled customer-data pipeline (IDIC: identify, differentiate, interact, customize)."""

__version__ = "0.1.0"
