"""The docs' example outputs, from the default run's results: each block between
`<!-- example: COMMAND -->` and `<!-- end example -->` in a doc holds what COMMAND prints in the
repository root. Run it after `make run` to refresh them; tests/test_docs.py fails when a block
and its command's output differ (where the default results exist).

    .venv/bin/python docs/examples.py          # rewrite the blocks
    .venv/bin/python docs/examples.py --check  # exit 1 where a block is stale
"""

from __future__ import annotations

import argparse
import re
import shlex
import subprocess
import sys
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
DOCS = ("README.md",)
BLOCK = re.compile(r"(<!-- example: (?P<command>[^\n]+?) -->\n```text\n)(?P<output>.*?)(```\n"
                   r"<!-- end example -->)", re.S)


def output(command: str) -> str:
    """What `command` (a vaebench command line) prints in the repository root."""
    words = shlex.split(command)
    vaebench = Path(sys.executable).with_name("vaebench")
    done = subprocess.run([str(vaebench), *words[1:]], cwd=REPO, capture_output=True, text=True,
                          check=True)
    return done.stdout


def refreshed(text: str) -> str:
    return BLOCK.sub(lambda m: m[1] + output(m["command"]) + m[4], text)


def stale_blocks(path: Path) -> list[str]:
    """The commands whose block in `path` differs from what they print now."""
    return [m["command"] for m in BLOCK.finditer(path.read_text())
            if m["output"] != output(m["command"])]


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--check", action="store_true", help="only say which blocks are stale")
    args = parser.parse_args()
    stale = {name: stale_blocks(REPO / name) for name in DOCS}
    if args.check:
        for name, commands in stale.items():
            for command in commands:
                print(f"{name}: the example of `{command}` is stale")
        return 1 if any(stale.values()) else 0
    for name in DOCS:
        path = REPO / name
        path.write_text(refreshed(path.read_text()))
    return 0


if __name__ == "__main__":
    sys.exit(main())
