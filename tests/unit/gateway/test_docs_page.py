"""The /docs page: self-contained, and the OpenAPI URL it is given cannot break out of its script."""

import json
import re

from conveyor_gateway.http.docs_page import render_docs_page

_URL_LITERAL = re.compile(r"const OPENAPI_URL = (.*?);\n")


def _injected_url(html: str) -> str:
    match = _URL_LITERAL.search(html)
    assert match is not None
    value = json.loads(match.group(1))
    assert isinstance(value, str)
    return value


def test_page_fetches_the_url_it_is_given() -> None:
    html = render_docs_page("/openapi.json")

    assert 'const OPENAPI_URL = "/openapi.json";' in html
    assert "__OPENAPI_URL__" not in html
    assert html.startswith("<!doctype html>")


def test_page_loads_nothing_from_another_host() -> None:
    html = render_docs_page("/openapi.json")

    assert not re.search(r"""(src|href)\s*=\s*["']?\s*(https?:)?//""", html, re.IGNORECASE)
    assert "http://" not in html
    assert "https://" not in html
    assert "@import" not in html
    assert "connect-src 'self'" in html  # the page's CSP keeps even its fetches on this origin


def test_a_hostile_url_stays_inside_its_string_literal() -> None:
    url = '/x"</script><script>alert(1)</script><!-- & \u2028'

    html = render_docs_page(url)

    assert html.lower().count("</script") == render_docs_page("/openapi.json").lower().count("</script")
    assert "<script>alert" not in html
    assert "<!--" not in html
    assert _injected_url(html) == url
