# Quetz with the maintainers dashboard plugin, as the dashboard stack runs it on ECS Fargate
# (stacks/dashboard/dashboard.yaml). Build:  docker build -t condainfra-quetz .
FROM python:3.11-slim

ENV PIP_NO_CACHE_DIR=1 PIP_DISABLE_PIP_VERSION_CHECK=1 PYTHONUNBUFFERED=1
WORKDIR /app

# the project with its `dashboard` extra, and nothing else: the extra declares the PostgreSQL driver
# for its pinned SQLAlchemy and s3fs for Quetz's S3 package store
COPY pyproject.toml README.md ./
COPY src ./src
RUN pip install '.[dashboard]'

# the org-as-code config the plugin reads feedstock maintainers from (project_root = /app)
COPY Pulumi.yaml ./
COPY stacks ./stacks
COPY docker/quetz-entrypoint.sh /usr/local/bin/quetz-entrypoint

RUN useradd --uid 1000 --home-dir /srv/quetz --create-home quetz
USER 1000
EXPOSE 8000
ENTRYPOINT ["/usr/local/bin/quetz-entrypoint"]
