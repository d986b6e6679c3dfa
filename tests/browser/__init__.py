"""The run report in a headless browser."""
