"""Command line: ``python -m toolkit report [--data DIR] [--out DIR] [--with-code] [--force]``,
``present [--notebook NAME] [--data DIR] [--port N]`` or
``check DIR [--mapping FILE] [--write-mapping FILE]``."""

from __future__ import annotations

import sys
from collections.abc import Sequence

COMMANDS = {
    "report": "write one offline HTML page per tour notebook, plus an index",
    "present": "serve the presenter's view (one explorer per screen) in Voila, token-protected",
    "check": "read and validate a CRM export, print each problem and propose a mapping",
}


def main(argv: Sequence[str] | None = None) -> int:
    args = list(sys.argv[1:] if argv is None else argv)
    if not args or args[0] in ("-h", "--help") or args[0] not in COMMANDS:
        lines = [f"  {name:<8} {text}" for name, text in COMMANDS.items()]
        print("usage: python -m toolkit COMMAND [options]\n\ncommands:\n" + "\n".join(lines))
        return 0 if args and args[0] in ("-h", "--help") else 2
    if args[0] == "present":
        from toolkit.present import main as command_main
    elif args[0] == "check":
        from toolkit.mapping.proposal import main as command_main
    else:
        from toolkit.report import main as command_main
    return command_main(args[1:])


if __name__ == "__main__":
    sys.exit(main())
