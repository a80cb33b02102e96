"""Fixture workload for capability golden files: binds a port below 1024 (CAP_NET_BIND_SERVICE)
and gives a file it created to another user (CAP_CHOWN)."""
import os
import socket
import sys
import tempfile

with socket.socket() as s:
    s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    s.bind(("127.0.0.1", int(sys.argv[1]) if len(sys.argv) > 1 else 84))
with tempfile.NamedTemporaryFile() as f:
    os.chown(f.name, 65534, 65534)
