"""Deployment files (docker-compose.yml, Dockerfile), checked without a Docker engine."""
