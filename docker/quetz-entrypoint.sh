#!/bin/sh
# Start Quetz with the dashboard plugin in the container of the dashboard stack.
#
# ECS passes: CONDAINFRA_QUETZ_CONFIG (the rendered config.toml, no secrets), DB_HOST, DB_PORT,
# DB_NAME, DB_USER, and from Secrets Manager DB_PASSWORD, QUETZ_SESSION_SECRET and
# QUETZ_GITHUB_CLIENT_SECRET. Quetz reads QUETZ_<SECTION>_<KEY> variables over its config file.
set -eu

deployment=/srv/quetz/deployment
mkdir -p "$deployment/channels"
printf '%s\n' "$CONDAINFRA_QUETZ_CONFIG" > "$deployment/config.toml"

# the database URL carries the password: built here, in the process environment only, never on disk
QUETZ_SQLALCHEMY_DATABASE_URL="$(python3 -c '
import os
from urllib.parse import quote
print("postgresql://{}:{}@{}:{}/{}".format(
    quote(os.environ["DB_USER"], safe=""), quote(os.environ["DB_PASSWORD"], safe=""),
    os.environ["DB_HOST"], int(os.environ["DB_PORT"]), quote(os.environ["DB_NAME"], safe="")))
')"
export QUETZ_SQLALCHEMY_DATABASE_URL
unset DB_PASSWORD
export QUETZ_CONFIG_FILE="$deployment/config.toml"

# `quetz start` does not migrate: Quetz's migrations and the plugin's first
python3 -c 'import sys; from pathlib import Path; from condainfra.dashboard.quetz_adapter import migrate; migrate(Path(sys.argv[1]))' "$deployment"

# the job supervisor (periodic refresh and sync-users) runs beside the web server
exec quetz start "$deployment" --host 0.0.0.0 --port 8000 --proxy-headers --supervisor --log-level info
