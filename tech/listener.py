"""Closing a listening socket that another thread is blocked in accept() on.

On Linux close() alone does not wake that thread: its accept() keeps the socket listening on
the port, which the kernel may give to the next socket bound to port 0, and the old thread
then takes that socket's connections. This once made `hangcho-tech provision` copy into a
test's leftover relay instead of the virtual board ("could not enter raw repl").
shutdown() first ends the accept() with EINVAL.
"""

from __future__ import annotations

import contextlib
import socket
import threading


def close_listener(server: socket.socket, thread: threading.Thread | None = None, timeout: float = 2.0) -> None:
    with contextlib.suppress(OSError):
        server.shutdown(socket.SHUT_RDWR)
    server.close()
    if thread is not None and thread is not threading.current_thread():
        thread.join(timeout)
