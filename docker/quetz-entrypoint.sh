#!/bin/sh
# Start Quetz with the dashboard plugin in the container of the dashboard stack.
#
# ECS passes CONDAINFRA_QUETZ_CONFIG (the rendered config.toml, no secrets), DB_HOST, DB_PORT, DB_NAME,
# DB_USER, and from Secrets Manager DB_PASSWORD, SESSION_SECRET and GITHUB_CLIENT_SECRET. The start
# (src/condainfra/dashboard/production.py) writes config.toml with the secrets, migrates, schedules the
# periodic jobs and replaces itself with `quetz start` and its job supervisor.
# CONDAINFRA_DEPLOYMENT, CONDAINFRA_HOST and CONDAINFRA_PORT override /srv/quetz/deployment, 0.0.0.0, 8000.
set -eu
umask 077
exec python3 -m condainfra.dashboard.production
