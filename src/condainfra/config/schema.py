"""JSON Schemas of the config files, for editors (yaml-language-server) and other tools."""

from __future__ import annotations

import importlib
from typing import Any, Callable

from pydantic import TypeAdapter

from .models import FEEDSTOCK_NAME, FeedstockEntry, Maintainer, OrgConfig

SCHEMA_URI = "https://json-schema.org/draft/2020-12/schema"


def org_schema() -> dict[str, Any]:
    schema = OrgConfig.model_json_schema()
    schema["$schema"] = SCHEMA_URI
    schema["title"] = "condainfra org.yaml"
    return schema


def feedstocks_schema() -> dict[str, Any]:
    value = TypeAdapter(list[Maintainer] | FeedstockEntry).json_schema()
    defs = value.pop("$defs", {})
    return {
        "$schema": SCHEMA_URI,
        "title": "condainfra feedstocks/*.yaml",
        "description": "Feedstock name (without -feedstock) -> its maintainers: GitHub logins or org/team references.",
        "type": "object",
        "propertyNames": {"pattern": FEEDSTOCK_NAME.pattern},
        "additionalProperties": value,
        "$defs": defs,
    }


def _file_schema(module: str, model: str, title: str) -> Callable[[], dict[str, Any]]:
    """The schema of a stack with one config file of its own (imported only when asked for)."""

    def make() -> dict[str, Any]:
        schema = getattr(importlib.import_module(f"{__package__}.{module}"), model).model_json_schema()
        schema["$schema"] = SCHEMA_URI
        schema["title"] = title
        return schema

    return make


SCHEMAS = {
    "org": org_schema,
    "feedstocks": feedstocks_schema,
    "mirror": _file_schema("mirror", "MirrorConfig", "condainfra mirror.yaml"),
    "runners": _file_schema("runners", "RunnersConfig", "condainfra runners.yaml"),
    "dashboard": _file_schema("dashboard", "DashboardStackConfig", "condainfra dashboard.yaml"),
}
