"""The chat's report batching: pieces arriving within the window go out as one report, a pause
longer than the window starts a new one, and `flush` sends what is left at once."""

from __future__ import annotations

import asyncio

from devmatrix_lsp.chat import Pieces


async def test_pieces_within_the_window_are_one_report_and_a_pause_starts_another() -> None:
    sent: list[str] = []
    pieces = Pieces(sent.append, window=0.05)
    for piece in ["An ", "atom ", "is "]:
        pieces.add(piece)
    pieces.add("")  # nothing to send: no report of its own
    assert sent == []  # the window is still open
    await asyncio.sleep(0.15)
    assert sent == ["An atom is "]
    pieces.add("one ")
    await asyncio.sleep(0.01)
    pieces.add("symbol.")
    pieces.flush()  # the end of the answer does not wait for the window
    assert sent == ["An atom is ", "one symbol."]
    assert pieces.sent == "An atom is one symbol."
    await asyncio.sleep(0.1)
    assert sent == ["An atom is ", "one symbol."]  # the cancelled timer sends nothing more
