"""Python with threads and a subprocess: an interpreter's start-up, thread creation and a
posix_spawn/fork+exec, joined before exit. Each part makes a call start-up does not:
threads getrusage, the main thread times, the subprocess execs /bin/true."""
import os
import resource
import subprocess
import threading


def work(results, index):
    results[index] = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss


def main():
    results = [0] * 4
    threads = [threading.Thread(target=work, args=(results, i)) for i in range(len(results))]
    for thread in threads:
        thread.start()
    subprocess.run(["/bin/true"], check=True)
    for thread in threads:
        thread.join()
    os.times()
    print("threads done", len(results))


if __name__ == "__main__":
    main()
