"""A service for the AppArmor VM tests: writes its pid file in the directory given as the
first argument, listens on a unix socket in /tmp (the VM's shared folder, 9p, cannot hold
one), forks three workers that each connect, send a line and write a log in that
directory, and stops when all have reported."""

import os
import socket
import sys
import zlib

base = sys.argv[1]
os.makedirs(os.path.join(base, "logs"), exist_ok=True)
with open(os.path.join(base, "service.pid"), "w") as f:
    f.write(f"{os.getpid()}\n")
# One socket per service directory: tests that run the service at the same time (in the
# VM's checks and in the host's diff of two runs) must not take each other's socket. The name
# is the same from run to run of one test, as a service's would be.
path = "/tmp/leastpriv-vm-service-%08x.sock" % zlib.crc32(os.path.abspath(base).encode())
if os.path.exists(path):
    os.unlink(path)
server = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
server.bind(path)
server.listen(3)
workers = []
for n in range(3):
    pid = os.fork()
    if pid == 0:
        server.close()
        with socket.socket(socket.AF_UNIX, socket.SOCK_STREAM) as c:
            c.connect(path)
            c.sendall(f"worker {n}\n".encode())
        with open(os.path.join(base, "logs", f"worker-{n}.log"), "w") as f:
            f.write("done\n")
        os._exit(0)
    workers.append(pid)
lines = []
for _ in workers:
    conn, _ = server.accept()
    with conn:
        lines.append(conn.recv(100).decode().strip())
for pid in workers:
    os.waitpid(pid, 0)
server.close()
os.unlink(path)
os.unlink(os.path.join(base, "service.pid"))
print(sorted(lines))
