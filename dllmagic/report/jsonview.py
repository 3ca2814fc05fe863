"""JSON view of a report, and the schema it follows."""
from __future__ import annotations

import json as _json
from functools import lru_cache
from pathlib import Path

from ..model import Report, report_to_dict

SCHEMA_PATH = Path(__file__).with_name("report.schema.json")
MIME_TYPE = "application/vnd.dllmagic.report+json"


def render_dict(report: Report) -> dict:
    return report_to_dict(report)


def render_json(report: Report, indent: int = 2) -> str:
    return _json.dumps(render_dict(report), indent=indent, ensure_ascii=False)


@lru_cache(maxsize=None)
def schema() -> dict:
    return _json.loads(SCHEMA_PATH.read_text(encoding="utf-8"))
