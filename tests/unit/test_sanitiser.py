"""The one place that says what HTML gets through (portal.domain.core.sanitiser)."""

from __future__ import annotations

import threading

import pytest

from portal.domain.core import sanitiser


def test_a_document_keeps_its_headings_and_lists_and_drops_the_rest():
    html = (
        '<h2>Rules</h2><ul><li><a href="javascript:alert(1)">x</a></li></ul>'
        "<img src=x><script>1</script>"
    )
    assert sanitiser.clean(html, sanitiser.DOCUMENT) == "<h2>Rules</h2><ul><li><a>x</a></li></ul>1"


@pytest.mark.requirement("R35")
def test_a_message_shows_markup_it_does_not_allow_as_text():
    html = '<p>Hi <b>there</b> <a href="https://example.org" onclick="x()">link</a></p>'
    assert sanitiser.clean(html, sanitiser.MESSAGE) == (
        '<p>Hi &lt;b&gt;there&lt;/b&gt; <a href="https://example.org">link</a></p>'
    )


@pytest.mark.requirement("R35")
def test_only_the_allowed_schemes_become_links():
    linked = sanitiser.linkify("see https://example.org or mail a@example.org")
    assert 'href="https://example.org" rel="nofollow noopener noreferrer"' in linked
    assert 'href="mailto:a@example.org"' in linked
    assert "<a" not in sanitiser.linkify("ftp://example.org/file")


def test_each_thread_cleans_with_its_own_cleaner():
    results: dict[int, str] = {}

    def work(n: int) -> None:
        for _ in range(200):
            results[n] = sanitiser.clean(f"<p>text {n}</p><b>{n}</b>", sanitiser.MESSAGE)

    threads = [threading.Thread(target=work, args=(n,)) for n in range(8)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert results == {n: f"<p>text {n}</p>&lt;b&gt;{n}&lt;/b&gt;" for n in range(8)}
