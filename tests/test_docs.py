"""The documentation points only at what a clone of the repository has."""

import re
import subprocess

from helpers import REPO

# the repository's top-level folders: a path in the docs starting with one names a file of ours
FOLDERS = ("workflow/", "config/", "bench/", "tests/", "profiles/", "envs/", "docs/", "report/")


def documents():
    return [REPO / p for p in subprocess.run(["git", "ls-files", "*.md"], cwd=REPO,
                                             capture_output=True, text=True,
                                             check=True).stdout.split()]


def named_paths(text):
    """Markdown link targets that are not URLs or anchors, and `code` spans that are repository
    paths (a top-level folder, no placeholder such as <study>, * or {run})."""
    for target in re.findall(r"\]\(([^)\s]+)\)", text):
        if not target.startswith(("http://", "https://", "#", "mailto:")):
            yield target.split("#")[0], "link"
    for span in re.findall(r"`([^`\s]+)`", text):
        span = span.rstrip(".,;:")
        if span.startswith(FOLDERS) and not re.search(r"[<>*{}$]|\.\.\.|…", span):
            yield span.split(":")[0], "path"


def test_every_file_the_docs_name_exists():
    missing = [f"{doc.relative_to(REPO)}: {path} ({kind})"
               for doc in documents() for path, kind in named_paths(doc.read_text())
               if not ((doc.parent / path) if kind == "link" else REPO / path).exists()]
    assert not missing, "\n".join(missing)


def test_nothing_points_outside_the_repository():
    """A clone has no ../shared/ (the papers and notes the project was built from): the docs,
    configs and code cite the papers by title, DOI or URL instead."""
    pattern = r"(\.\./|/work/)shared/|shared/(papers|reference)/"
    found = subprocess.run(["git", "grep", "-n", "-E", pattern, "--", ".", ":!tests/test_docs.py"],
                           cwd=REPO, capture_output=True, text=True).stdout
    assert not found, found
