"""Server-sent events from lines."""

from conveyor_client.sse import SseMessage, parse_sse


def test_messages_ids_comments_and_multiline_data() -> None:
    lines = ["retry: 1000", "", ": keepalive", "", "id: 5", 'data: {"a":', "data: 1}", "", "event: end", "data: x", ""]
    assert list(parse_sse(lines)) == [
        SseMessage(event="message", data='{"a":\n1}', id="5"),
        SseMessage(event="end", data="x", id="5"),
    ]
