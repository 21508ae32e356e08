"""Print pip's ``--extra-index-url URL`` when the index answers within a few seconds, else
nothing (and say so on stderr): an index pip cannot reach costs retries for every package it
resolves, so make install leaves it out. Usage: python scripts/pip_index.py URL [SECONDS]"""

import socket
import sys
import urllib.parse


def main() -> None:
    url = sys.argv[1]
    seconds = float(sys.argv[2]) if len(sys.argv) > 2 else 5.0
    parts = urllib.parse.urlparse(url)
    port = parts.port or (443 if parts.scheme == "https" else 80)
    try:
        socket.create_connection((parts.hostname, port), timeout=seconds).close()
    except OSError as error:
        print(f"make: {url} cannot be reached ({error}), so it is left out: PyTorch comes "
              "from pip's own configuration (pip config list), whichever build that holds",
              file=sys.stderr)
        return
    print(f"--extra-index-url {url}")


if __name__ == "__main__":
    main()
