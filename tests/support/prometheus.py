"""deploy/prometheus as files to load, and a real Prometheus server (Debian's `prometheus`
package) started by a test on a free port."""

import json
import re
import shutil
import socket
import subprocess
import urllib.request
from pathlib import Path

import yaml

from tests.support.daemons import PROJECT_DIR, wait_until
from tests.support.services import service_missing

PROMETHEUS_DIR = PROJECT_DIR / "deploy" / "prometheus"
ALERTS_FILE = PROMETHEUS_DIR / "alerts.yml"
SCRAPE_EXAMPLE = PROMETHEUS_DIR / "prometheus.yml"
UNIT_TEST_FILES = sorted((PROMETHEUS_DIR / "tests").glob("*.yml"))


def binary(name: str) -> str:
    """The path of promtool or prometheus; skips (fails under REQUIRE_SERVICES) when it is missing."""
    path = shutil.which(name)
    if path is None:
        service_missing(f"needs {name} (Debian's prometheus package; .ci/services.sh installs it)")
    return path


def alert_rules(text: str | None = None) -> list[dict]:
    """The alerting rules of alerts.yml (or of `text`), in order."""
    groups = yaml.safe_load(ALERTS_FILE.read_text() if text is None else text)["groups"]
    return [rule for group in groups for rule in group["rules"] if "alert" in rule]


def _minutes_as_seconds(duration: str) -> str:
    return re.sub(r"(\d+)m\b", r"\1s", duration)


def rules_at_short_durations(text: str) -> str:
    """alerts.yml with every minute made a second, expressions otherwise unchanged: `for: 5m` and
    `[10m]` become 5s and 10s, and a threshold on an age in seconds is divided by 60 (300 -> 5)."""
    document = yaml.safe_load(text)
    for group in document["groups"]:
        for rule in group["rules"]:
            if "for" in rule:
                rule["for"] = _minutes_as_seconds(rule["for"])
            expr = re.sub(r"\[\d+m\]|offset \d+m", lambda match: _minutes_as_seconds(match.group()), rule["expr"])
            rule["expr"] = re.sub(
                r"(_age_seconds\s*>=?\s*)(\d+)", lambda match: f"{match[1]}{int(match[2]) // 60}", expr
            )
    return yaml.safe_dump(document, sort_keys=False)


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


class PrometheusServer:
    """`prometheus` with `config` (a prometheus.yml as a dict) on a free port, its data in
    `workdir`; stopped on exit."""

    def __init__(self, config: dict, *, workdir: Path):
        self.config = config
        self.workdir = workdir
        self.port = free_port()
        self.log_path = workdir / "prometheus.log"
        self.process: subprocess.Popen | None = None

    def __enter__(self) -> "PrometheusServer":
        config_file = self.workdir / "prometheus.yml"
        config_file.write_text(yaml.safe_dump(self.config, sort_keys=False))
        with open(self.log_path, "ab") as log:
            self.process = subprocess.Popen(
                [
                    binary("prometheus"),
                    f"--config.file={config_file}",
                    f"--storage.tsdb.path={self.workdir / 'data'}",
                    f"--web.listen-address=127.0.0.1:{self.port}",
                ],
                stdin=subprocess.DEVNULL,
                stdout=log,
                stderr=subprocess.STDOUT,
            )
        wait_until(self._ready, timeout=60, interval=0.2, message=self.state)
        return self

    def __exit__(self, *exc_info) -> None:
        self.process.terminate()
        try:
            self.process.wait(30)
        except subprocess.TimeoutExpired:
            self.process.kill()
            self.process.wait(10)

    def _ready(self) -> bool:
        if self.process.poll() is not None:
            raise AssertionError(f"prometheus exited {self.process.returncode}:\n{self.state()}")
        try:
            with urllib.request.urlopen(f"http://127.0.0.1:{self.port}/-/ready", timeout=5) as response:
                return response.status == 200
        except OSError:
            return False

    def api(self, path: str) -> dict:
        with urllib.request.urlopen(f"http://127.0.0.1:{self.port}/api/v1/{path}", timeout=10) as response:
            answer = json.load(response)
        assert answer["status"] == "success", answer
        return answer["data"]

    def alert_state(self, alertname: str) -> str | None:
        """The alert's state: firing, pending, or None when it is inactive."""
        states = {alert["state"] for alert in self.api("alerts")["alerts"] if alert["labels"]["alertname"] == alertname}
        return "firing" if "firing" in states else next(iter(states), None)

    def state(self) -> str:
        """What to show when waiting on the server times out: its targets, alerts and log."""
        try:
            targets = [
                (target["scrapeUrl"], target["health"], target["lastError"])
                for target in self.api("targets")["activeTargets"]
            ]
            alerts = [(alert["labels"]["alertname"], alert["state"]) for alert in self.api("alerts")["alerts"]]
        except OSError as exc:
            targets = alerts = repr(exc)
        log = self.log_path.read_text(errors="replace")[-3000:]
        return f"prometheus on port {self.port}: targets {targets}, alerts {alerts}\n{log}"
