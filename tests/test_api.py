"""The Python API refuses misuse with a RagError that says what was wrong (issue 13)."""

import pytest

from rag import RagError


@pytest.mark.parametrize("call, message", [
    (lambda bot: bot.ask(123), "query must be a string, not int"),
    (lambda bot: bot.ask(b"ferry"), "query must be a string, not bytes"),
    (lambda bot: bot.ask(["ferry"]), "query must be a string, not list"),
    (lambda bot: bot.check(None), "query must be a string, not NoneType"),
    (lambda bot: bot.ask("When does the ferry leave?", backend=123), "backend must be a name"),
    (lambda bot: bot.search("ferry", k=2.5), "k must be a whole number, not 2.5"),
    (lambda bot: bot.search("ferry", k="5"), "k must be a whole number, not '5'"),
    (lambda bot: bot.search("ferry", k=True), "k must be a whole number"),
    (lambda bot: bot.search("ferry", mode="bogus"), "search mode must be one of hybrid, dense, keyword"),
    (lambda bot: bot.ingest(None), "ingest takes a path or a list of paths"),
    (lambda bot: bot.ingest([3]), "ingest takes a path or a list of paths"),
    (lambda bot: bot.remove(None), "remove takes a path or a list of paths"),
])
def test_misuse_is_a_clear_rag_error(corpus_bot, call, message):
    with pytest.raises(RagError, match=message.replace("(", r"\(").replace(".", r"\.")):
        call(corpus_bot)


def test_remove_nothing_writes_no_new_generation(corpus_bot):
    before = sorted(p.name for p in corpus_bot.store.root.iterdir())
    report = corpus_bot.remove([])
    assert report.removed == []
    assert sorted(p.name for p in corpus_bot.store.root.iterdir()) == before
