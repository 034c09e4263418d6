"""Feedstocks from the sources conda-forge keeps today: feedstock-outputs and the recipes' maintainers.

* ``--outputs``: the conda-forge/feedstock-outputs repository's ``outputs/`` folder, one JSON file
  per package output, sharded by its first three characters (``outputs/n/u/m/numpy.json``), each
  ``{"feedstocks": ["numpy"]}``; or those files merged into one ``{output: [feedstocks]}`` JSON
  file. Every feedstock named there is a feedstock of the org.
* ``--maintainers``: ``{feedstock: [logins or org/team]}``, the recipes' ``extra.recipe-maintainers``.

A feedstock without known maintainers is kept with an empty list (or with the maintainers already
written, which the sources do not contradict). Archived-ness is not in these sources: an entry's
``archived:`` is kept as written (``import github`` reads it from the repositories).

Names are data: a feedstock name that is not one by the config's rule, or a maintainer that is
not one by the config's rule (a login, an ``org/team``), is reported and left out, never written.
"""

from __future__ import annotations

import os
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from pydantic import TypeAdapter, ValidationError

from ..config.loader import FEEDSTOCK_DIR, ORG_FILE
from ..config.models import FEEDSTOCK_NAME, Maintainer
from ..config.yamlfile import load_yaml
from ..errors import ConfigError, ConfigIssue, display_path
from .sources import BadSource, read_json, shown
from .staged import Staged, own_folder
from .writer import FeedstockUpdate, WriteReport, normalised, plan_feedstock_files

OUTPUTS_SUFFIX = ".json"
_MAINTAINER = TypeAdapter(Maintainer)  # the config's own rule for a maintainer, whatever it accepts


def _is_maintainer(value: str) -> bool:
    try:
        _MAINTAINER.validate_python(value)
    except ValidationError:
        return False
    return True


@dataclass
class SourceReport:
    feedstocks: int = 0
    with_maintainers: int = 0
    skipped: list[str] = field(default_factory=list)

    def skip(self, why: str) -> None:
        if len(self.skipped) < 1000:  # a hostile source cannot flood the terminal
            self.skipped.append(why)


def _feedstock_list(path: Path, where: str, value: Any) -> list[str]:
    if not isinstance(value, list) or not all(isinstance(v, str) for v in value):
        raise BadSource(f"{path}: {where}: expected a list of feedstock names")
    return value


def _output_files(folder: Path, report: SourceReport) -> list[str]:
    """Every ``*.json`` below ``folder``, by path; links are not followed (not even to a file: a
    source folder names its own files only). os.scandir: one stat a file, for 30,000 of them."""
    found: list[str] = []
    pending = [str(folder)]
    while pending:
        with os.scandir(pending.pop()) as entries:
            for entry in entries:
                if entry.is_dir(follow_symlinks=False):
                    pending.append(entry.path)
                elif entry.name.endswith(OUTPUTS_SUFFIX):
                    if entry.is_file(follow_symlinks=False):
                        found.append(entry.path)
                    else:
                        report.skip(f"{entry.path}: not a regular file: left out")
    return sorted(found)


def read_outputs(path: Path, report: SourceReport) -> set[str]:
    """The feedstock names that feedstock-outputs lists, from its folder or its merged file."""
    names: set[str] = set()
    if path.is_dir():
        for file in _output_files(path, report):
            data = read_json(file, same=None)
            if not isinstance(data, dict) or "feedstocks" not in data:
                raise BadSource(f"{file}: expected {{\"feedstocks\": [names]}}")
            names.update(_feedstock_list(Path(file), "feedstocks", data["feedstocks"]))
    elif path.is_file():
        data = read_json(path)
        if not isinstance(data, dict):
            raise BadSource(f"{path}: expected a mapping of output name to feedstock names")
        for output, feedstocks in data.items():
            names.update(_feedstock_list(path, shown(output), feedstocks))
    else:
        raise BadSource(f"{path}: no such file or folder")
    valid = set()
    for name in names:
        if FEEDSTOCK_NAME.fullmatch(name):
            valid.add(name)
        else:
            report.skip(f"{path}: {shown(name)} is not a feedstock name: left out")
    return valid


def _maintainer_key(value: Any) -> Any:
    return normalised(value) if isinstance(value, list) and all(isinstance(v, str) for v in value) else value


def read_maintainers(path: Path, report: SourceReport) -> dict[str, list[str]]:
    """``{feedstock: [maintainers]}``; a feedstock listed twice must list the same maintainers."""
    data = read_json(path, same=lambda a, b: _maintainer_key(a) == _maintainer_key(b))
    if not isinstance(data, dict):
        raise BadSource(f"{path}: expected a mapping of feedstock name to maintainers")
    out: dict[str, list[str]] = {}
    for name, maintainers in data.items():
        if not isinstance(maintainers, list) or not all(isinstance(m, str) for m in maintainers):
            raise BadSource(f"{path}: {shown(name)}: expected a list of logins or org/team references")
        if not FEEDSTOCK_NAME.fullmatch(name):
            report.skip(f"{path}: {shown(name)} is not a feedstock name: left out")
            continue
        kept = []
        for login in maintainers:
            if _is_maintainer(login):
                kept.append(login)
            else:
                report.skip(f"{path}: {name}: {shown(login)} is not a maintainer by the config's rule (a login, an org/team): left out")
        out[name] = kept
    return out


def feedstock_updates(outputs: Path, maintainers: Path | None, report: SourceReport) -> dict[str, FeedstockUpdate]:
    """Every feedstock the sources name, with its maintainers where the recipes say them."""
    names = read_outputs(outputs, report)
    known = read_maintainers(maintainers, report) if maintainers else {}
    names |= known.keys()  # a feedstock that has published nothing yet is a feedstock all the same
    report.feedstocks, report.with_maintainers = len(names), len(known)
    return {name: FeedstockUpdate(maintainers=known.get(name)) for name in names}


def _require_feedstocks_section(org_file: Path, root: Path) -> None:
    """Feedstock files are only written for an org whose org.yaml has a ``feedstocks:`` section:
    anywhere else they would be files the loader refuses (bioconda keeps its recipes in one repo)."""
    shown_as = display_path(org_file, root)
    if not org_file.is_file():
        raise BadSource(f"{shown_as}: no such file: declare the org first (or run `condainfra import github`)")
    doc, issues = load_yaml(org_file, shown_as)
    if doc is None:
        raise ConfigError(issues)
    if not isinstance(doc.data, dict) or doc.data.get("feedstocks") is None:
        raise ConfigError([ConfigIssue(shown_as, 1, "no 'feedstocks:' section, so this org has no feedstock files to import into; "
                                       "add one (e.g. `feedstocks: {shards: 4}`) if its feedstocks should be managed")])


def import_feedstocks(
    root: Path, org: str, outputs: Path, maintainers: Path | None, check: bool = True
) -> tuple[SourceReport, WriteReport, list[ConfigIssue]]:
    """Read the sources, write the org's feedstock files (staged, then moved into place) and return
    what was read, what was written, and what the project's loader says of the result (``check``
    False: not asked, for a caller that validates the whole project next)."""
    from ..project import STACKS_DIR

    org_dir = root / STACKS_DIR / org
    own_folder(org_dir / FEEDSTOCK_DIR, root)  # before anything is read through a link
    _require_feedstocks_section(org_dir / ORG_FILE, root)
    source = SourceReport()
    updates = feedstock_updates(outputs, maintainers, source)
    files, report = plan_feedstock_files(org_dir, root, updates)
    with Staged(org_dir, root) as staged:
        for name, text in files.items():
            staged.put(f"{FEEDSTOCK_DIR}/{name}", text)
        issues = staged.check() if check else []
        staged.commit()
    return source, report, issues
