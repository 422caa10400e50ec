"""Run the lists server under the real MicroPython binary on a disk image.

    srv = ListsHost(image, domain="lists.example", port=free_port(),
                    nameserver="udp:127.0.0.1:5300")
    srv.start(); ...; srv.kill() (a crash) or srv.stop() (clean shutdown)
"""
import atexit
import os
import socket
import subprocess
import time

REPO = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
MPY = os.path.join(REPO, "tools", "mpy")
MICROPYPATH = os.path.join(REPO, "app") + ":.frozen"


def free_port():
    s = socket.socket()
    s.bind(("127.0.0.1", 0))
    port = s.getsockname()[1]
    s.close()
    return port


_running = []


def _started(proc):
    _running.append(proc)
    return proc


@atexit.register
def _kill_leftovers():
    # A test run that dies must not leave servers delivering into later runs.
    for p in _running:
        if p.poll() is None:
            p.kill()


class ListsHost:
    def __init__(self, image, domain, port, nameserver=None, smarthost=None, first_retry=300,
                 delivery_timeout=30, log_path=None, admin=None):
        self.image = str(image)
        self.domain = domain
        self.port = port
        self.args = ["--disk", self.image, "--domain", domain, "--port", str(port),
                     "--first-retry", str(first_retry), "--delivery-timeout", str(delivery_timeout)]
        if nameserver:
            self.args += ["-n", nameserver]
        if smarthost:
            self.args += ["--smarthost", smarthost]
        if admin:
            self.args += ["--admin", admin]
        self.log_path = log_path or self.image + ".log"
        self.proc = None

    def start(self, timeout=30):
        env = dict(os.environ, MICROPYPATH=MICROPYPATH)
        self.log = open(self.log_path, "ab")
        self._offset = self.log.tell()  # a restart appends: only this run's lines count
        self.proc = _started(subprocess.Popen([MPY, "-X", "heapsize=64M", os.path.join(REPO, "app", "ptt", "main_host.py")]
                                     + self.args, stdin=subprocess.PIPE, stdout=self.log,
                                     stderr=subprocess.STDOUT, env=env, cwd=REPO))
        deadline = time.time() + timeout
        while time.time() < deadline:
            if self.proc.poll() is not None:
                raise RuntimeError("lists server exited %s:\n%s" % (self.proc.returncode, self.output()))
            if b"ready:" in self._read():
                return self
            time.sleep(0.05)
        raise RuntimeError("lists server not ready in %ss:\n%s" % (timeout, self.output()))

    def _read(self):
        with open(self.log_path, "rb") as f:
            f.seek(self._offset)
            return f.read()

    def output(self):
        return self._read().decode(errors="replace")

    def kill(self):
        """A crash: SIGKILL, nothing flushed or unmounted."""
        self.proc.kill()
        self.proc.wait()
        self.log.close()

    def stop(self, timeout=20):
        """Clean shutdown through the console command."""
        self.proc.stdin.write(b"shutdown\n")
        self.proc.stdin.flush()
        self.proc.wait(timeout)
        self.log.close()
        return self.proc.returncode
