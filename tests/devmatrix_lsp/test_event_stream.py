"""The Server-Sent Events parser on awkward input: every line ending, chunks cut anywhere (inside
a CRLF, inside a UTF-8 character), comments, multi-line data, fields without a value or a space,
a byte-order mark, and an event the stream ends in the middle of."""

from __future__ import annotations

import json

import pytest

from devmatrix_lsp.event_stream import EventStreamParser, ServerSentEvent

AWKWARD = (
    "\ufeff: keep-alive\r\n"
    "\r\n"
    "event: intent\r\n"
    'data: {"intent": "question"}\r\n'
    "\r\n"
    ": keep-alive\n\n"
    "event:delta\r"
    "data:first line\r"
    "data\r"
    "data:  two spaces, one kept\r"
    "id: 7\rretry: 10\runknown: field\r"
    "\r"
    "event: delta\n"
    'data: {"text": "caf\u00e9 \u2028 \u20ac\u00a0\U0001f600"}\n'
    "\n"
    "data: unnamed\n"
    "\n"
    "event: dropped\n"
    "\n"
    "event: done\n"
    "data: {}\n"
    "\n"
    "event: cut\n"
    "data: never finished\n"
)
EXPECTED = [
    ServerSentEvent("intent", '{"intent": "question"}'),
    ServerSentEvent("delta", "first line\n\n two spaces, one kept"),
    ServerSentEvent("delta", '{"text": "caf\u00e9 \u2028 \u20ac\u00a0\U0001f600"}'),
    ServerSentEvent("message", "unnamed"),
    ServerSentEvent("done", "{}"),
]


def parse(chunks: list[bytes]) -> list[ServerSentEvent]:
    """Feed the chunks one by one, then end the stream."""
    parser = EventStreamParser()
    found = [event for chunk in chunks for event in parser.feed(chunk)]
    return found + parser.close()


def test_one_chunk() -> None:
    assert parse([AWKWARD.encode()]) == EXPECTED


@pytest.mark.parametrize("size", [1, 2, 3, 5, 7, 64])
def test_chunks_cut_anywhere(size: int) -> None:
    data = AWKWARD.encode()
    chunks = [data[i : i + size] for i in range(0, len(data), size)]
    assert parse(chunks) == EXPECTED


def test_a_cr_split_from_its_lf_is_one_line_end() -> None:
    """A chunk ending in CR waits: with the LF that follows it is one line end, not two (two
    would be a blank line, ending the event early)."""
    chunks = [b"event: delta\r", b"\ndata: a\r", b"\ndata: b\r", b"\n\r", b"\n"]
    assert parse(chunks) == [ServerSentEvent("delta", "a\nb")]


def test_a_final_cr_ends_the_last_event() -> None:
    assert parse([b"event: done\rdata: {}\r\r"]) == [ServerSentEvent("done", "{}")]


def test_the_delta_texts_survive_json_and_line_separators() -> None:
    """U+2028 and U+0085 are not line ends in SSE (a splitlines-based reader breaks on them)."""
    text = "line\u2028same line\u0085still\x0cthe same"
    frame = f"event: delta\ndata: {json.dumps({'text': text}, ensure_ascii=False)}\n\n"
    (event,) = parse([frame.encode()])
    assert json.loads(event.data)["text"] == text


def test_an_event_cut_by_the_end_of_the_stream_is_dropped() -> None:
    assert parse([b"event: done\ndata: {}\n"]) == []
    assert parse([b"event: done\ndata: {}"]) == []
