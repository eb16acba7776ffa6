"""The book's bibliography as a reader sees it: author–year labels and links, from
``book/references.bib``.

The site's own citations come from sphinxcontrib-bibtex (``{cite}`` roles, the style
``author_year``); tables a chapter prints as HTML cannot use a role, so they show the same
label, linked to the entry on the references page (``bibtex_cite_id: "cite-{key}"`` in
``_config.yml`` gives each entry that stable anchor).
"""

from __future__ import annotations

import html
import re
from functools import lru_cache
from pathlib import Path

from lt_lab.book.paths import ROOT

BIBLIOGRAPHY = ROOT / "book" / "references.bib"
REFERENCES_PAGE = "../book/references.html"  # from a chapter page
CITE_ID = "cite-{key}"  # the anchor of an entry: _config.yml's bibtex_cite_id


def _plain(text: str) -> str:
    """A BibTeX name without its braces and accent commands: ``Doll{\\'a}r`` → ``Dollar``."""
    text = re.sub(r"\\[a-zA-Z]+\s*|\\.", "", text)
    return text.replace("{", "").replace("}", "")


@lru_cache(maxsize=4)
def _labels(path: str, modified: float) -> dict[str, str]:
    from pybtex.database import parse_file

    labels = {}
    for key, entry in parse_file(path).entries.items():
        people = entry.persons.get("author", [])
        names = [_plain(" ".join(p.prelast_names + p.last_names)) for p in people]
        if len(names) >= 3:
            authors = f"{names[0]} et al."
        else:
            authors = " and ".join(names) or key
        labels[key] = f"{authors}, {entry.fields.get('year', 'n.d.')}"
    return labels


def labels(path: str | Path = BIBLIOGRAPHY) -> dict[str, str]:
    """``{key: "Cui et al., 2019"}`` for every entry of the bibliography (one author: "Last,
    year"; two: "Last and Last, year"; more: "Last et al., year", as sphinxcontrib-bibtex's
    author–year style labels them)."""
    path = Path(path)
    return _labels(str(path), path.stat().st_mtime)


def label(key: str, path: str | Path = BIBLIOGRAPHY) -> str | None:
    """The author–year label of ``key``; None when the bibliography has no such entry."""
    return labels(path).get(key)


def cite_html(keys: str, path: str | Path = BIBLIOGRAPHY,
              page: str = REFERENCES_PAGE) -> str:
    """``keys`` (one key, or several separated by commas) as linked author–year labels; a key
    the bibliography lacks stays visible as ``<code>key</code>`` (the site check flags it)."""
    parts = []
    for key in (k.strip() for k in keys.split(",") if k.strip()):
        text = label(key, path)
        if text is None:
            parts.append(f"<code>{html.escape(key)}</code>")
        else:
            anchor = CITE_ID.format(key=key).lower()
            parts.append(f'<a href="{page}#{anchor}">{html.escape(text)}</a>')
    return "; ".join(parts)
