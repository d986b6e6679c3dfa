"""Reruns, backfills, catchup, faults, incremental builds, privacy and alerts on shared pipeline runs."""
