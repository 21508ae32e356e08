"""Print one line and exit 2 when a server cannot listen on a port (taken, or not a port); print
nothing when it can. ``make ui`` and ``make dashboard`` ask before they start one, so a busy port
never leaves a server running without a listener; ``make slurm`` asks for its two consecutive
ports (slurmctld's and slurmd's), on every address, where its daemons listen.

    python scripts/port_free.py "make ui" 5000
    python scripts/port_free.py "make slurm" 16817 --count 2 --setting EMOREC_SLURM_PORT \
        --address 0.0.0.0
"""

from __future__ import annotations

import argparse
import socket


def problem(what: str, text: str, count: int = 1, setting: str = "PORT",
            address: str = "127.0.0.1") -> str | None:
    """The one line saying why ports ``text`` .. ``text + count - 1`` cannot be listened on at
    ``address``, or None. ``setting`` names the variable that gives the first of them."""
    try:
        port = int(text)
    except ValueError:
        port = 0
    last = 65536 - count
    if not 1 <= port <= last:
        return f"{what}: {setting} must be a port number from 1 to {last}, found {text!r}"
    for each in range(port, port + count):
        with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as probe:
            probe.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)   # as the servers bind
            try:
                probe.bind((address, each))
            except OSError as error:
                following = port + count if port + 2 * count - 1 <= 65535 else 1024
                free = "a free one" if count == 1 else f"{count} free ones from there"
                return (f"{what}: port {each} on {address} is in use ({error.strerror}): "
                        f"another server listens there; give {free}, e.g. {what} "
                        f"{setting}={following}")
    return None


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("what", help="the command that needs the ports, e.g. 'make ui'")
    parser.add_argument("port", help="the first port")
    parser.add_argument("--count", type=int, default=1, help="consecutive ports from PORT")
    parser.add_argument("--setting", default="PORT", help="the variable that gives PORT")
    parser.add_argument("--address", default="127.0.0.1", help="where the servers listen")
    args = parser.parse_args()
    found = problem(args.what, args.port, args.count, args.setting, args.address)
    if found:
        print(found)
        raise SystemExit(2)
