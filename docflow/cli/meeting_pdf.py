"""The meeting report as a PDF, printed from its HTML page by headless Chromium, else WeasyPrint.

Chromium is what a province's machine most often has (Debian's ``chromium``); it is looked for on ``PATH``.
The page runs no script and fetches nothing, so printing it needs no network. When neither printer is there,
the command stops with exit 2 and says what to install (or to print the ``.html`` from a browser).
"""

from __future__ import annotations

import importlib
import os
import shutil
import subprocess
import tempfile
from pathlib import Path

from docflow.i18n import _

__all__ = ["CHROMIUM_NAMES", "NoPdfMaker", "PdfFailed", "find_chromium", "write_pdf"]

CHROMIUM_NAMES = ("chromium", "chromium-browser", "google-chrome", "google-chrome-stable")
_TIMEOUT = 180.0
"""Seconds Chromium may take to print: a national store's commune pages are long, a hung browser is not."""


class NoPdfMaker(Exception):
    """Neither Chromium nor WeasyPrint is installed."""


class PdfFailed(Exception):
    """The PDF maker ran and failed; the message says how."""


def find_chromium() -> str | None:
    return next((found for name in CHROMIUM_NAMES if (found := shutil.which(name))), None)


def _chromium_command(chromium: str, page: Path, pdf: Path, profile: Path) -> list[str]:
    command = [
        chromium,
        "--headless",
        "--disable-gpu",
        "--disable-dev-shm-usage",  # containers give /dev/shm 64 MB, which a long page exceeds
        "--no-first-run",
        "--disable-extensions",
        f"--user-data-dir={profile}",
        "--no-pdf-header-footer",
        f"--print-to-pdf={pdf}",
    ]
    if hasattr(os, "geteuid") and os.geteuid() == 0:
        # Chromium refuses to start as root with its sandbox; the page is our own, with no script.
        command.append("--no-sandbox")
    return [*command, page.as_uri()]


def _with_chromium(chromium: str, html: str, out: Path) -> None:
    with tempfile.TemporaryDirectory(prefix="docflow-report-") as work:
        page, pdf = Path(work) / "report.html", Path(work) / "report.pdf"
        page.write_text(html, encoding="utf-8")
        try:
            finished = subprocess.run(
                _chromium_command(chromium, page, pdf, Path(work) / "profile"),
                capture_output=True,
                text=True,
                timeout=_TIMEOUT,
                check=False,
            )
        except (OSError, subprocess.TimeoutExpired) as error:
            raise PdfFailed(_("Chromium could not print the report: {error}").format(error=error)) from error
        if not pdf.exists() or pdf.stat().st_size == 0:
            detail = (finished.stderr or "").strip().splitlines()[-3:]
            raise PdfFailed(
                _("Chromium could not print the report (exit {code}): {detail}").format(
                    code=finished.returncode, detail=" ".join(detail)
                )
            )
        # Moved beside the target, then renamed: a reader never opens half a PDF, whatever file system /tmp is on.
        temporary = out.with_name(f".{out.name}.tmp")
        shutil.move(str(pdf), temporary)
        temporary.replace(out)


def write_pdf(html: str, out: Path) -> None:
    """Print ``html`` to ``out``; NoPdfMaker when nothing can, PdfFailed when the printer failed."""
    chromium = find_chromium()
    if chromium is not None:
        _with_chromium(chromium, html, out)
        return
    try:
        weasyprint = importlib.import_module("weasyprint")
    except ImportError as error:
        raise NoPdfMaker from error
    temporary = out.with_name(f".{out.name}.tmp")
    weasyprint.HTML(string=html).write_pdf(str(temporary))
    temporary.replace(out)
