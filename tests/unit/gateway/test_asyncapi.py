"""``/asyncapi.json`` is an AsyncAPI 3.0 document that names every event tag with a golden sample,
and every golden sample validates against its message's payload schema (issue 22); the headers
it lists include the W3C trace context Conveyor stamps when tracing is on.

No JSON Schema of AsyncAPI 3.0 ships in a package this workspace can install, so ``_ASYNCAPI_3``
checks the structure the 3.0.0 specification requires: the version, ``info`` with title and
version, channels with an ``address`` and messages, operations with an ``action`` and a
``channel`` reference, component keys matching the specification's key pattern, ids of channels,
operations and channel messages without dots (as stricter validators such as the ``asyncapi3``
models require), and every ``$ref`` resolving inside the document.
"""

import json
from pathlib import Path
from typing import Any

import httpx
import jsonschema  # type: ignore[import-untyped]  # no stubs are published for it
from opentelemetry.sdk.trace import TracerProvider
from starlette.applications import Starlette

from conveyor_events import upcast
from conveyor_events.asyncapi import event_tags
from conveyor_gateway.native.asyncapi_doc import ASYNCAPI_ROUTE
from conveyor_runtime import start_tracing, tracing_into

GOLDEN = Path(__file__).resolve().parents[3] / "libs" / "events" / "tests" / "golden"
_KEY = "^[a-zA-Z0-9\\.\\-_]+$"  # keys of components (the specification's pattern)
_ID = "^[A-Za-z0-9_\\-]+$"  # ids of channels, operations and a channel's messages: no dots
_REF = {"type": "object", "required": ["$ref"], "properties": {"$ref": {"type": "string"}}}
_ASYNCAPI_3: dict[str, Any] = {
    "type": "object",
    "required": ["asyncapi", "info"],
    "properties": {
        "asyncapi": {"const": "3.0.0"},
        "info": {
            "type": "object",
            "required": ["title", "version"],
            "properties": {"title": {"type": "string"}, "version": {"type": "string"}},
        },
        "defaultContentType": {"type": "string"},
        "channels": {
            "type": "object",
            "propertyNames": {"pattern": _ID},
            "additionalProperties": {
                "type": "object",
                "properties": {
                    "address": {"type": ["string", "null"]},
                    "messages": {"type": "object", "propertyNames": {"pattern": _ID}, "additionalProperties": _REF},
                    "parameters": {"type": "object", "additionalProperties": {"type": "object"}},
                },
            },
        },
        "operations": {
            "type": "object",
            "propertyNames": {"pattern": _ID},
            "additionalProperties": {
                "type": "object",
                "required": ["action", "channel"],
                "properties": {
                    "action": {"enum": ["send", "receive"]},
                    "channel": _REF,
                    "messages": {"type": "array", "items": _REF},
                },
            },
        },
        "components": {
            "type": "object",
            "properties": {
                "schemas": {"type": "object", "propertyNames": {"pattern": _KEY}},
                "messages": {
                    "type": "object",
                    "propertyNames": {"pattern": _KEY},
                    "additionalProperties": {
                        "type": "object",
                        "required": ["name", "payload"],
                        "properties": {"name": {"type": "string"}, "payload": {"type": "object"}},
                    },
                },
            },
        },
    },
    "additionalProperties": False,
}


async def _served() -> dict[str, Any]:
    transport = httpx.ASGITransport(app=Starlette(routes=[ASYNCAPI_ROUTE]))
    async with httpx.AsyncClient(transport=transport, base_url="http://gateway") as client:
        response = await client.get("/asyncapi.json")
    assert response.status_code == 200
    assert response.headers["content-type"] == "application/json"
    doc: dict[str, Any] = response.json()
    return doc


def _refs(node: Any) -> list[str]:
    if isinstance(node, dict):
        own = [node["$ref"]] if isinstance(node.get("$ref"), str) else []
        return own + [r for value in node.values() for r in _refs(value)]
    if isinstance(node, list):
        return [r for value in node for r in _refs(value)]
    return []


def _resolve(doc: dict[str, Any], ref: str) -> Any:
    assert ref.startswith("#/"), ref
    node: Any = doc
    for part in ref[2:].split("/"):
        node = node[part.replace("~1", "/").replace("~0", "~")]
    return node


def _golden() -> dict[str, list[dict[str, Any]]]:
    samples: dict[str, list[dict[str, Any]]] = {}
    for path in sorted(GOLDEN.glob("*.json")):
        doc = json.loads(upcast(path.read_bytes()))
        samples.setdefault(doc["type"], []).append(doc)
    return samples


async def test_the_document_has_the_structure_asyncapi_3_requires() -> None:
    doc = await _served()
    jsonschema.validate(doc, _ASYNCAPI_3)
    for ref in _refs(doc):
        _resolve(doc, ref)  # raises KeyError for a dangling reference
    for name, channel in doc["channels"].items():
        params = set(channel.get("parameters", {}))
        assert params == {p.split("}")[0] for p in channel["address"].split("{")[1:]}, name


def _messages_by_tag(doc: dict[str, Any]) -> dict[str, tuple[str, dict[str, Any]]]:
    return {m["name"]: (key, m) for key, m in doc["components"]["messages"].items()}


async def test_every_golden_tag_is_a_message_on_its_aggregate_channel() -> None:
    doc = await _served()
    golden = _golden()
    by_tag = _messages_by_tag(doc)
    assert set(golden) <= set(by_tag)
    assert set(by_tag) == set(event_tags())
    for tag in golden:
        aggregate = event_tags()[tag]
        channel = doc["channels"][aggregate]
        assert channel["address"].startswith(f"conveyor.ev.{aggregate}."), tag
        assert by_tag[tag][0] in channel["messages"], tag
        operation = doc["operations"][f"receive_{aggregate}_events"]
        assert {"$ref": f"#/channels/{aggregate}/messages/{by_tag[tag][0]}"} in operation["messages"], tag


async def test_every_golden_sample_validates_against_its_payload_schema() -> None:
    doc = await _served()
    by_tag = _messages_by_tag(doc)
    for tag, samples in _golden().items():
        schema = {**by_tag[tag][1]["payload"], "components": doc["components"]}
        for sample in samples:
            jsonschema.Draft202012Validator(schema).validate(sample)


async def test_a_sample_with_a_wrong_field_type_is_refused() -> None:
    doc = await _served()
    sample = _golden()["job.cancelled"][0]
    schema = {**_messages_by_tag(doc)["job.cancelled"][1]["payload"], "components": doc["components"]}
    assert not jsonschema.Draft202012Validator(schema).is_valid({**sample, "event_id": 7})


async def test_the_headers_include_the_trace_context_the_propagator_writes() -> None:
    headers_schema = (await _served())["components"]["schemas"]["NatsHeaders"]
    assert {"traceparent", "tracestate"} <= headers_schema["properties"].keys()
    provider = TracerProvider()
    with tracing_into(provider):
        tracing = start_tracing("test")
    with tracing.span("append"):
        stamped = {"Nats-Msg-Id": "01j0", **tracing.current_headers()}
    assert "traceparent" in stamped
    jsonschema.Draft202012Validator(headers_schema).validate(stamped)
    assert not jsonschema.Draft202012Validator(headers_schema).is_valid({**stamped, "traceparent": "00-zz-01"})
