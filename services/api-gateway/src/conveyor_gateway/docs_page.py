"""The interactive API docs page (self-contained: no assets from elsewhere)."""

from html import escape


def render_docs_page(openapi_url: str) -> str:
    """Return the HTML of ``/docs``, which renders the OpenAPI document it fetches."""
    url = escape(openapi_url, quote=True)
    return f"""<!doctype html><html><head><meta charset="utf-8"><title>Conveyor API</title></head>
<body><h1>Conveyor API</h1><p>OpenAPI document: <a href="{url}">{url}</a></p>
<div id="ops"></div>
<script>
fetch("{url}").then(r => r.json()).then(doc => {{
  const ops = document.getElementById("ops");
  for (const [path, methods] of Object.entries(doc.paths)) {{
    for (const [method, op] of Object.entries(methods)) {{
      const h = document.createElement("h3");
      h.textContent = method.toUpperCase() + " " + path + " - " + (op.summary || "");
      ops.appendChild(h);
    }}
  }}
}});
</script></body></html>"""
