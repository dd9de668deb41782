"""Run the project's management commands (the daemons, migrate, shell) as subprocesses."""

import os
import re
import signal
import subprocess
import sys
import time
from datetime import datetime
from pathlib import Path

PROJECT_DIR = Path(__file__).resolve().parents[2]
MANAGE_PY = PROJECT_DIR / "manage.py"


def run_command(command: str, *args: str, env: dict, timeout: float = 60.0) -> str:
    """Run `manage.py <command> <args>` to completion; returns its output, fails the test on error."""
    result = subprocess.run(
        [sys.executable, str(MANAGE_PY), command, *args],
        cwd=PROJECT_DIR,
        env=env,
        stdin=subprocess.DEVNULL,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
        timeout=timeout,
    )
    assert result.returncode == 0, f"manage.py {command} {' '.join(args)} exited {result.returncode}:\n{result.stdout}"
    return result.stdout


class DaemonProcess:
    """A long-running `manage.py <command>`; its stdout and stderr go to `log_path`."""

    def __init__(self, command: str, *args: str, env: dict, log_path: Path):
        self.command = command
        self.args = args
        self.env = env
        self.log_path = log_path
        self.process: subprocess.Popen | None = None

    def start(self) -> "DaemonProcess":
        self.log_path.parent.mkdir(parents=True, exist_ok=True)
        with open(self.log_path, "ab") as log:
            self.process = subprocess.Popen(
                [sys.executable, str(MANAGE_PY), self.command, *self.args],
                cwd=PROJECT_DIR,
                env=self.env,
                stdin=subprocess.DEVNULL,
                stdout=log,
                stderr=subprocess.STDOUT,
            )
        return self

    @property
    def pid(self) -> int:
        return self.process.pid

    def is_running(self) -> bool:
        return self.process is not None and self.process.poll() is None

    def output(self) -> str:
        try:
            return self.log_path.read_text(errors="replace")
        except FileNotFoundError:
            return ""

    def stop(self, timeout: float = 15.0) -> int | None:
        """SIGTERM (the daemon finishes or releases its batch), then SIGKILL if it does not exit."""
        if self.process is None:
            return None
        if self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(timeout)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait(10)
        return self.process.returncode

    def kill(self) -> None:
        """SIGKILL: no handler runs, nothing is released."""
        if self.is_running():
            os.kill(self.process.pid, signal.SIGKILL)
            self.process.wait(10)


class DaemonSupervisor:
    """Starts daemons for one test and guarantees they are all stopped afterwards."""

    def __init__(self, log_dir: Path):
        self.log_dir = log_dir
        self.started: list[DaemonProcess] = []

    def start(self, command: str, *args: str, env: dict, label: str | None = None) -> DaemonProcess:
        label = label or command
        daemon = DaemonProcess(command, *args, env=env, log_path=self.log_dir / f"{label}-{len(self.started)}.log")
        self.started.append(daemon)
        return daemon.start()

    def stop_all(self) -> None:
        for daemon in self.started:
            try:
                daemon.stop()
            except Exception:  # noqa: BLE001 - keep stopping the others
                if daemon.is_running():
                    daemon.process.kill()


def wait_until(predicate, *, timeout: float, interval: float = 0.05, message="condition", watch=()):
    """Poll `predicate` until it returns something truthy; fail after `timeout` seconds with
    `message` (a string, or a callable giving the state at that moment), or as soon as one of the
    daemons in `watch` has exited."""
    __tracebackhide__ = True
    deadline = time.monotonic() + timeout
    while True:
        value = predicate()
        if value:
            return value
        for daemon in watch:
            if not daemon.is_running():
                raise AssertionError(
                    f"{daemon.command} exited ({daemon.process.returncode}) while waiting for "
                    f"{message() if callable(message) else message}:\n{daemon.output()[-5000:]}"
                )
        if time.monotonic() > deadline:
            detail = message() if callable(message) else message
            raise AssertionError(f"timed out after {timeout:.0f}s waiting for {detail}")
        time.sleep(interval)


LOG_TIME = re.compile(r"^(\d{4}-\d\d-\d\d \d\d:\d\d:\d\d,\d{3}) ")


def first_log_line_after(output: str, text: str, after: datetime) -> datetime | None:
    """When a daemon first logged a line containing `text` at or after `after` (daemons log their
    host's local time, the naive datetime.now() of the test on the same host)."""
    for line in output.splitlines():
        match = LOG_TIME.match(line)
        if match and text in line:
            at = datetime.strptime(match[1], "%Y-%m-%d %H:%M:%S,%f")
            if at >= after:
                return at
    return None
