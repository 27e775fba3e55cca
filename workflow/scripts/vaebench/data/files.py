"""Files: the data rooms' error, atomic writes, reading gzip or plain, downloads, checksums."""

from __future__ import annotations

import errno
import gzip
import hashlib
import os
from collections import Counter
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path


class DataError(ValueError):
    """Bad input data; message names the problem, the value and where (file, line, config key)."""


# What a cell says when it has no value, read the same way by every reader (expression and
# annotations): empty, R's and pandas' NA and NaN, spreadsheets' #N/A, and the bracketed
# tokens of TCGA-CDR (the Xena survival table).
MISSING_VALUES = ("", "NA", "NaN", "nan", "#N/A", "[Not Available]", "[Unknown]",
                  "[Not Applicable]", "[Discrepancy]")


def existing_file(path, what: str) -> Path:
    """`path` as a Path, if it is a file; else a DataError that says whether it is missing or a
    directory (`what`: "expression file", "h5ad file", ...)."""
    path = Path(path)
    if path.is_dir():
        raise DataError(f"{what} {path} is a directory, not a file: name the file inside it")
    if not path.is_file():
        raise DataError(f"{what} not found: {path}")
    return path


def check_unique_ids(ids, where: str, what: str = "sample", unit: str | None = None,
                     first: int = 1) -> None:
    """Every id names one sample (gene): else the first repeated id, how often it occurs, where
    (`unit`: "column" or "line", the first id's being `first`) and how many ids repeat."""
    ids = list(ids)
    counts = Counter(ids)
    repeated = [(value, n) for value, n in counts.items() if n > 1]
    if repeated:
        value, n = repeated[0]
        at = ""
        if unit:
            places = [str(first + i) for i, v in enumerate(ids) if v == value]
            at = f" ({unit}s {', '.join(places[:-1])} and {places[-1]})"
        more = f" ({len(repeated) - 1} more ids repeat)" if len(repeated) > 1 else ""
        raise DataError(f"{where}: {what} id {value!r} occurs {n} times{at}{more}; each {what} "
                        "needs an id of its own")



def _check_option(name: str, value, allowed: tuple) -> None:
    if value not in allowed:
        raise DataError(f"unknown {name}={value!r}; allowed: {', '.join(allowed)}")


@contextmanager
def atomic_path(path) -> Iterator[Path]:
    """Yield a temporary name beside `path`; rename it to `path` only if the block succeeds.

    A crash (or an exception) never leaves a plausible but incomplete output file behind.
    """
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(f".{path.name}.tmp{os.getpid()}")
    try:
        yield tmp
        os.replace(tmp, path)
    except OSError as err:
        # A bare "OSError: File too large" names no file: say which output could not be written.
        if err.errno not in _STORAGE_ERRORS:
            raise
        raise OSError(err.errno, f"could not write {path}: {os.strerror(err.errno)} (disk "
                      "full, quota or file-size limit?); no partial file was left") from err
    finally:
        tmp.unlink(missing_ok=True)


_STORAGE_ERRORS = {errno.ENOSPC, errno.EFBIG, errno.EDQUOT, errno.EROFS, errno.EIO}


def _open_read(path: Path):
    """Open for binary reading, decompressing if the file starts with the gzip magic bytes."""
    with open(path, "rb") as f:
        magic = f.read(2)
    return gzip.open(path, "rb") if magic == b"\x1f\x8b" else open(path, "rb")


def _check_ids(ids, what: str) -> None:
    """Ids go one per line / tab-separated into files: they must not contain either."""
    for value in ids:
        if not value or "\t" in value or "\n" in value or "\r" in value:
            raise DataError(f"{what} id {value!r} is empty or contains a tab or newline")



def write_atomic(path, content: str | bytes) -> None:
    """Write a file via a temporary name, so a crash never leaves a plausible file."""
    with atomic_path(path) as tmp:
        if isinstance(content, str):
            tmp.write_text(content)
        else:
            tmp.write_bytes(content)


def sha256_bytes(content: bytes) -> str:
    return hashlib.sha256(content).hexdigest()


def download(url: str, path, sha256: str | None, log=None) -> str:
    """Fetch `url` to `path`, checking its sha256 when given; returns the checksum.

    The file appears under `path` only when complete and verified. A mismatch names both sums
    and keeps nothing (a stale mirror or a truncated transfer must not be preprocessed).
    """
    import urllib.request

    digest = hashlib.sha256()
    with atomic_path(path) as tmp, urllib.request.urlopen(url, timeout=60) as response:
        with open(tmp, "wb") as out:
            while chunk := response.read(2**20):
                digest.update(chunk)
                out.write(chunk)
        got = digest.hexdigest()
        if sha256 and got != sha256:
            raise DataError(f"download {url}: sha256 {got} does not match the configured "
                            f"{sha256} (datasets.*.xena.sha256); nothing was kept")
    if log:
        print(f"downloaded {url} -> {path} (sha256 {got})", file=log)
    return got
