"""Workload for the Landlock tests.

`run WORK PORT` does a fixed set of things: reads WORK/input/config, lists WORK/input, writes
WORK/output/log (created), makes and removes a temporary file in WORK/output, and listens on
127.0.0.1:PORT and connects to it. `probe WHAT ARG` tries one thing and prints `ok` (exit 0)
or the errno's name (exit 3): `read FILE`, `write FILE`, `bind PORT`, `connect PORT`.
Everything is imported first, so both modes start the same way.
"""

import errno
import os
import socket
import sys
import tempfile


def run(work, port):
    with open(os.path.join(work, "input", "config")) as f:
        f.read()
    os.listdir(os.path.join(work, "input"))
    with open(os.path.join(work, "output", "log"), "w") as f:
        f.write("ran\n")
    fd, name = tempfile.mkstemp(dir=os.path.join(work, "output"))
    os.close(fd)
    os.unlink(name)
    server = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    server.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    server.bind(("127.0.0.1", port))
    server.listen(1)
    client = socket.create_connection(("127.0.0.1", port))
    conn, _ = server.accept()
    client.sendall(b"ping")
    assert conn.recv(4) == b"ping"
    for s in (conn, client, server):
        s.close()
    print("done")


def probe(what, arg):
    try:
        if what == "read":
            with open(arg) as f:
                f.read(1)
        elif what == "write":
            with open(arg, "w") as f:
                f.write("x")
        elif what == "bind":
            s = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
            s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
            s.bind(("127.0.0.1", int(arg)))
            s.close()
        elif what == "connect":
            s = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
            s.connect(("127.0.0.1", int(arg)))
            s.close()
        else:
            raise SystemExit("unknown probe " + what)
    except OSError as e:
        print(errno.errorcode.get(e.errno, str(e.errno)))
        sys.exit(3)
    print("ok")


if __name__ == "__main__":
    if sys.argv[1] == "run":
        run(sys.argv[2], int(sys.argv[3]))
    else:
        probe(sys.argv[2], sys.argv[3])
