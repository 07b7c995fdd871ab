"""A TCP proxy in front of an emulated board's UART (QEMU's socket://), changing the bytes
that cross it: how the tests make a damaged link or a board that computes wrongly."""

from __future__ import annotations

import socket
import threading
from typing import Callable

Change = Callable[[bytes], bytes]


class LinkProxy:
    """Serves one client on 127.0.0.1 (`url`), passing host -> board bytes through
    `to_board` and board -> host bytes through `to_host`."""

    def __init__(self, target_port: int, to_board: Change = bytes, to_host: Change = bytes):
        self.target = target_port
        self.to_board, self.to_host = to_board, to_host
        self.server = socket.create_server(("127.0.0.1", 0))
        self.url = f"socket://127.0.0.1:{self.server.getsockname()[1]}"
        threading.Thread(target=self._serve, daemon=True).start()

    def _serve(self) -> None:
        client, _ = self.server.accept()
        upstream = socket.create_connection(("127.0.0.1", self.target))
        for sock in (client, upstream):
            sock.settimeout(None)  # not the default timeout another thread may have set meanwhile
            sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        for source, sink, change in ((client, upstream, self.to_board), (upstream, client, self.to_host)):
            threading.Thread(target=self._pump, args=(source, sink, change), daemon=True).start()

    @staticmethod
    def _pump(source: socket.socket, sink: socket.socket, change: Change) -> None:
        try:
            while data := source.recv(4096):
                sink.sendall(change(data))
        except OSError:
            pass
        finally:
            for sock in (source, sink):
                try:
                    sock.shutdown(socket.SHUT_RDWR)
                except OSError:
                    pass
