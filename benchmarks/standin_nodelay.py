"""The twin's nginx stand-in with TCP_NODELAY on its connections, for benchmark item 4.

`python benchmarks/standin_nodelay.py --port N` is `python -m
fargate_api.twin.standin_server --port N` with one change: Nagle's algorithm is off on
every accepted connection, as nginx does by default (`tcp_nodelay on`). The stock
stand-in writes the headers and the body of a response in two sends without it, so a
keep-alive client that does not ACK at once (wrk, curl reusing a connection) waits for
its delayed ACK, about 40 ms, on every request after the first. The benchmark runs a twin
with this server (`local up --run nginx=...`) next to one with the stock stand-in, so that
the LB-hop latency it reports is not that artifact. It is not a fix of the twin (src/ is
not touched): the report describes the stock server's behaviour.
"""

from __future__ import annotations

import sys

from fargate_api.twin import standin_server

standin_server.StandInHandler.disable_nagle_algorithm = True

if __name__ == "__main__":
    sys.exit(standin_server.main())
