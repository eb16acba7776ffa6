"""The book layer (top): executing chapters with papermill (:mod:`.execute`), claims and
their verdict rule (:mod:`.claims`), the claims ledger (:mod:`.ledger`), the site build and
its Chromium check (:mod:`.site`, :mod:`.readability`), Colab (:mod:`.colab`), the student
edition (:mod:`.edition`), timing the whole book (:mod:`.timing`), freezing the
verdicts nbval checks (:mod:`.freeze`), and what chapter notebooks share (:mod:`.chapter`).

Needs the ``book`` extra (papermill, jupyter-book), imported only where used; the engine and
the method families never import this package.
"""

from lt_lab.book.execute import (
    HEADER_TAG,
    check_notebook_parameters,
    destination,
    environment,
    execute,
    execute_all,
    marked_pages,
    non_default,
    notebook_parameters,
    provenance_header,
    stage,
)
from lt_lab.book.freeze import CHECK_MARK, freeze
from lt_lab.book.ledger import LEDGER_MARKER, SUMMARY_MARKER, render_ledger, render_summary
from lt_lab.book.paths import (
    BUILD,
    CHAPTERS,
    CLAIMS,
    ROOT,
    STAGE,
    VARIANTS,
    chapter_notebooks,
    toc_chapters,
)
from lt_lab.book.site import (
    CHAPTER_PAGE,
    KNOWN_EXCEPTIONS,
    PROSE_PAGES,
    BookBuildError,
    SiteReport,
    build_site,
    check_page,
    check_site,
    site_pages,
)
from lt_lab.book.timing import count_records, format_book_time, time_book

__all__ = [
    "BUILD", "CHAPTERS", "CHAPTER_PAGE", "CHECK_MARK", "CLAIMS", "HEADER_TAG", "LEDGER_MARKER",
    "KNOWN_EXCEPTIONS", "PROSE_PAGES", "ROOT", "STAGE", "SUMMARY_MARKER", "BookBuildError",
    "SiteReport", "build_site",
    "chapter_notebooks", "check_notebook_parameters", "check_page", "check_site",
    "VARIANTS", "count_records", "destination", "environment", "execute", "execute_all",
    "format_book_time", "freeze", "marked_pages", "non_default", "notebook_parameters",
    "provenance_header", "render_ledger", "render_summary", "site_pages", "stage",
    "time_book", "toc_chapters",
]
