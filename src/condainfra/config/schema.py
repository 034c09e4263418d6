"""JSON Schemas of the config files, for editors (yaml-language-server) and other tools."""

from __future__ import annotations

from typing import Any

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


def mirror_schema() -> dict[str, Any]:
    from .mirror import MirrorConfig

    schema = MirrorConfig.model_json_schema()
    schema["$schema"] = SCHEMA_URI
    schema["title"] = "condainfra mirror.yaml"
    return schema


def runners_schema() -> dict[str, Any]:
    from .runners import RunnersConfig

    schema = RunnersConfig.model_json_schema()
    schema["$schema"] = SCHEMA_URI
    schema["title"] = "condainfra runners.yaml"
    return schema


SCHEMAS = {"org": org_schema, "feedstocks": feedstocks_schema, "mirror": mirror_schema, "runners": runners_schema}
