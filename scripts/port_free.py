"""Print one line and exit 2 when a server cannot listen on 127.0.0.1:PORT (taken, or not a
port); print nothing when it can. ``make ui`` and ``make dashboard`` ask before they start one,
so a busy port never leaves a server running without a listener.

    python scripts/port_free.py "make ui" 5000
"""

from __future__ import annotations

import socket
import sys


def problem(what: str, text: str) -> str | None:
    try:
        port = int(text)
    except ValueError:
        port = 0
    if not 1 <= port <= 65535:
        return f"{what}: PORT must be a port number from 1 to 65535, found {text!r}"
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as probe:
        probe.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)   # as the servers bind
        try:
            probe.bind(("127.0.0.1", port))
        except OSError as error:
            return (f"{what}: port {port} on 127.0.0.1 is in use ({error.strerror}): another "
                    f"server listens there; give a free one, e.g. {what} PORT={port % 65535 + 1}")
    return None


if __name__ == "__main__":
    found = problem(sys.argv[1], sys.argv[2])
    if found:
        print(found)
        sys.exit(2)
