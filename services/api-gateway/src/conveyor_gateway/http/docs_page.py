"""The interactive API docs page: one self-contained HTML file, no assets from elsewhere."""

import json
from functools import cache
from importlib.resources import files
from typing import Final

_TEMPLATE: Final = ("static", "docs.html")
# Replaced by a JavaScript string literal; the template has it exactly once, in `const OPENAPI_URL = ...;`.
_URL_SLOT: Final = "__OPENAPI_URL__"
# JSON is valid JavaScript, but inside <script> the HTML parser still sees "</script>" and "<!--";
# escaping these characters as \uXXXX keeps the literal's value and leaves the parser nothing to find.
_SCRIPT_SAFE: Final = str.maketrans({"<": "\\u003c", ">": "\\u003e", "&": "\\u0026"})


@cache
def _template() -> str:
    page = files("conveyor_gateway").joinpath(*_TEMPLATE).read_text(encoding="utf-8")
    if page.count(_URL_SLOT) != 1:
        raise RuntimeError(f"{'/'.join(_TEMPLATE)} must contain {_URL_SLOT} exactly once")
    return page


def render_docs_page(openapi_url: str) -> str:
    """Return the HTML of ``/docs``, which fetches the OpenAPI document at ``openapi_url`` and renders it."""
    literal = json.dumps(openapi_url, ensure_ascii=True).translate(_SCRIPT_SAFE)
    return _template().replace(_URL_SLOT, literal)
