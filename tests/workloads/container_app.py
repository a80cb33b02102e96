"""A small service's work, for container tests: sqlite (a database file in /tmp), worker
threads, a subprocess, and a loopback HTTP round trip (a server thread and a client). Prints
one line per part and `app ok` at the end; any failure raises and exits non-zero."""
import http.server
import os
import sqlite3
import subprocess
import tempfile
import threading
import urllib.request


class Hello(http.server.BaseHTTPRequestHandler):
    def do_GET(self):
        body = b"hello " + self.path.encode()
        self.send_response(200)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, *args):
        pass


def database(directory):
    db = sqlite3.connect(os.path.join(directory, "app.db"))
    db.execute("create table t (k integer primary key, v text)")
    db.executemany("insert into t (v) values (?)", [(str(i),) for i in range(100)])
    db.commit()
    (count,) = db.execute("select count(*) from t").fetchone()
    db.close()
    print("sqlite rows", count)


def workers():
    sums = [0] * 4

    def work(index):
        sums[index] = sum(range(index * 1000))

    threads = [threading.Thread(target=work, args=(i,)) for i in range(len(sums))]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    print("threads", len(sums))


def http_round_trip():
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Hello)
    thread = threading.Thread(target=server.serve_forever)
    thread.start()
    try:
        port = server.server_address[1]
        with urllib.request.urlopen(f"http://127.0.0.1:{port}/x", timeout=10) as reply:
            print("http", reply.status, reply.read().decode())
    finally:
        server.shutdown()
        thread.join()


def main():
    with tempfile.TemporaryDirectory() as directory:
        database(directory)
    workers()
    subprocess.run(["/bin/sh", "-c", "echo subprocess $((6 * 7))"], check=True)
    http_round_trip()
    print("app ok")


if __name__ == "__main__":
    main()
