"""The shipped alerts against a real Prometheus: it scrapes the app served by uvicorn (its
metrics token set) with the example's bearer credentials, evaluates alerts.yml with every minute
made a second, and pages on a due message that no relay publishes."""

import secrets
import time

import pytest
import yaml

from tests.support.api_server import ApiServer
from tests.support.daemons import wait_until
from tests.support.prometheus import ALERTS_FILE, SCRAPE_EXAMPLE, PrometheusServer, rules_at_short_durations
from users.models import User

pytestmark = [pytest.mark.mariadb, pytest.mark.rabbitmq, pytest.mark.serial, pytest.mark.django_db(transaction=True)]

# the backlog alert at short durations: over 5 s for 5 s, against a scrape and an evaluation a second
FIRING_DEADLINE_SECS = 120
RESOLVED_DEADLINE_SECS = 120


def scrape_config(*, target: str, token_file, rules_file) -> dict:
    """deploy/prometheus/prometheus.yml pointed at the test's server, scraping every second."""
    config = yaml.safe_load(SCRAPE_EXAMPLE.read_text())
    config["global"] = {"scrape_interval": "1s", "scrape_timeout": "1s", "evaluation_interval": "1s"}
    config["rule_files"] = [str(rules_file)]
    (job,) = config["scrape_configs"]
    # the example goes through the deployment's TLS proxy; the test talks to uvicorn directly
    job.update(scrape_interval="1s", scheme="http", static_configs=[{"targets": [target]}])
    job["authorization"]["credentials_file"] = str(token_file)
    return config


def test_backlog_alert_fires_without_a_relay_and_resolves_once_the_relay_publishes(
    deployment_a, daemons, figures, tmp_path
):
    token = secrets.token_urlsafe(32)
    token_file = tmp_path / "metrics-token"
    token_file.write_text(token + "\n")
    rules_file = tmp_path / "alerts.yml"
    rules_file.write_text(rules_at_short_durations(ALERTS_FILE.read_text()))

    server_env = deployment_a.env(METRICS_TOKEN=token)
    with ApiServer(env=server_env, log_path=tmp_path / "uvicorn.log") as api:
        config = scrape_config(target=f"127.0.0.1:{api.port}", token_file=token_file, rules_file=rules_file)
        with PrometheusServer(config, workdir=tmp_path) as prometheus:
            # the user's outbox message is due at once, and no relay runs
            User.objects.create_user(username=f"{deployment_a.name}-alerted", email="alerted@a.example")
            due_since = time.monotonic()

            wait_until(
                lambda: prometheus.alert_state("OpsConsoleOutboxBacklog") == "firing",
                timeout=FIRING_DEADLINE_SECS,
                interval=0.5,
                message=prometheus.state,
            )
            figures("seconds from a due message to firing", round(time.monotonic() - due_since, 1))

            # the relay's heartbeat well within the short daemon threshold (3 s)
            relay = daemons.start("producer_service", env=deployment_a.env(WORKER_HEARTBEAT_SECS=1))
            relay_started = time.monotonic()
            wait_until(
                lambda: prometheus.alert_state("OpsConsoleOutboxBacklog") is None,
                timeout=RESOLVED_DEADLINE_SECS,
                interval=0.5,
                message=prometheus.state,
                watch=[relay],
            )
            figures("seconds from starting the relay to resolved", round(time.monotonic() - relay_started, 1))
