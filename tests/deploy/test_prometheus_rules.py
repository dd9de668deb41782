"""The alerts in deploy/prometheus: promtool accepts them, their unit tests pass and would fail on a
broken rule, and they read metrics /metrics exposes and send on-call to admin pages that exist."""

import re
import shutil
import subprocess
from pathlib import Path

import pytest
import yaml
from django.utils import timezone
from prometheus_client.parser import text_string_to_metric_families

from pubsub.models import WorkerHeartbeat
from tests.support.daemons import PROJECT_DIR
from tests.support.prometheus import ALERTS_FILE, PROMETHEUS_DIR, SCRAPE_EXAMPLE, UNIT_TEST_FILES, alert_rules, binary
from users.models import SyncDrift, UserAPIHitLog
from users.tests.factories import SuperuserFactory

ALERTS = [rule["alert"] for rule in alert_rules()]
ALERTS_WITH_FOR = [rule["alert"] for rule in alert_rules() if "for" in rule]
# a label value a template may use in an admin path, for the path to be requested
TEMPLATE_VALUES = {"{{ $labels.worker }}": "producer_service"}


def promtool(*args: str) -> subprocess.CompletedProcess:
    return subprocess.run(
        [binary("promtool"), *args], capture_output=True, text=True, stdin=subprocess.DEVNULL, timeout=120
    )


def unit_tests_of(alert: str) -> list[dict]:
    """Every alert_rule_test about `alert`, over all the unit test files."""
    return [
        case
        for path in UNIT_TEST_FILES
        for group in yaml.safe_load(path.read_text())["tests"]
        for case in group.get("alert_rule_test", [])
        if case["alertname"] == alert
    ]


def unit_test_files_of(alert: str) -> list[Path]:
    return [path for path in UNIT_TEST_FILES if f"alertname: {alert}\n" in path.read_text()]


def run_unit_tests_on_changed_rule(tmp_path: Path, alert: str, change) -> subprocess.CompletedProcess:
    """Run `alert`'s unit tests against a copy of alerts.yml where `change(rule)` altered its rule."""
    copy = tmp_path / "prometheus"
    shutil.copytree(PROMETHEUS_DIR, copy)
    document = yaml.safe_load(ALERTS_FILE.read_text())
    for group in document["groups"]:
        for rule in group["rules"]:
            if rule.get("alert") == alert:
                change(rule)
    (copy / "alerts.yml").write_text(yaml.safe_dump(document, sort_keys=False))
    return promtool("test", "rules", *(str(copy / "tests" / path.name) for path in unit_test_files_of(alert)))


def admin_paths() -> list[str]:
    """The admin pages the alerts' annotations send on-call to, with template labels filled in."""
    text = " ".join(value for rule in alert_rules() for value in rule["annotations"].values())
    for template, value in TEMPLATE_VALUES.items():
        text = text.replace(template, value)
    return sorted({path.rstrip(".") for path in re.findall(r"/admin/[^\s,;)]*", text)})


def test_promtool_accepts_the_alert_rules():
    result = promtool("check", "rules", str(ALERTS_FILE))

    assert result.returncode == 0, result.stdout + result.stderr


def test_the_scrape_example_is_a_valid_config_loading_the_alerts(tmp_path):
    token_file = tmp_path / "metrics-token"
    token_file.write_text("a-token\n")
    config = yaml.safe_load(SCRAPE_EXAMPLE.read_text())
    config["scrape_configs"][0]["authorization"]["credentials_file"] = str(token_file)
    (tmp_path / "prometheus.yml").write_text(yaml.safe_dump(config))
    shutil.copy(ALERTS_FILE, tmp_path / "alerts.yml")

    result = promtool("check", "config", str(tmp_path / "prometheus.yml"))

    assert result.returncode == 0, result.stdout + result.stderr
    assert "SUCCESS: 7 rules found" in result.stdout


@pytest.mark.parametrize("path", UNIT_TEST_FILES, ids=lambda path: path.stem)
def test_alert_unit_tests_pass(path):
    result = promtool("test", "rules", str(path))

    assert result.returncode == 0, result.stdout + result.stderr


@pytest.mark.parametrize("alert", ALERTS)
def test_every_alert_has_unit_tests_where_it_fires_and_where_it_stays_quiet(alert):
    cases = unit_tests_of(alert)

    assert any(case["exp_alerts"] for case in cases), f"no unit test fires {alert}"
    assert any(not case["exp_alerts"] for case in cases), f"no unit test keeps {alert} quiet"


@pytest.mark.parametrize("alert", ALERTS)
def test_unit_tests_fail_when_the_alert_never_fires(alert, tmp_path):
    def never_fire(rule):
        rule["expr"] = f"({rule['expr']}) and on() vector(0) > 1"

    assert run_unit_tests_on_changed_rule(tmp_path, alert, never_fire).returncode != 0


@pytest.mark.parametrize("alert", ALERTS_WITH_FOR)
def test_unit_tests_fail_when_the_alert_fires_without_waiting_for_its_duration(alert, tmp_path):
    def fire_at_once(rule):
        del rule["for"]

    assert run_unit_tests_on_changed_rule(tmp_path, alert, fire_at_once).returncode != 0


@pytest.mark.parametrize("alert", ALERTS)
def test_every_alert_has_a_severity_a_summary_and_a_description_naming_an_admin_page(alert):
    rule = next(rule for rule in alert_rules() if rule["alert"] == alert)

    assert rule["labels"]["severity"] in {"critical", "warning"}
    assert rule["annotations"]["summary"]
    assert "/admin/" in rule["annotations"]["description"]


@pytest.mark.django_db
def test_every_admin_page_the_alerts_name_answers(client):
    client.force_login(SuperuserFactory())

    answers = {path: client.get(path).status_code for path in admin_paths()}

    assert answers == dict.fromkeys(admin_paths(), 200)


@pytest.fixture
def exposed_samples(db, client, settings):
    """{sample name: [labels, ...]} of one GET /metrics, with a daemon and an API request recorded so
    that every family has samples."""
    settings.METRICS_TOKEN = ""
    WorkerHeartbeat.objects.create(name="producer_service", host="node-1", pid=1)
    SyncDrift.objects.create(
        source="campus-north",
        range_start=0,
        range_end=999,
        queue="q",
        reply_queue="r",
        source_count=2,
        local_count=1,
        last_checked_at=timezone.now(),
    )
    UserAPIHitLog.objects.create(
        method="GET", api_name="/api/users/me/", status_code=200, duration_ms=5, timestamp=timezone.now()
    )
    response = client.get("/metrics")
    assert response.status_code == 200
    samples = {}
    for family in text_string_to_metric_families(response.content.decode()):
        for sample in family.samples:
            samples.setdefault(sample.name, []).append(sample.labels)
    return samples


def selectors() -> list[tuple[str, str]]:
    """(metric name, matchers) of every opsconsole_* selector in the alerts' expressions."""
    exprs = " ".join(rule["expr"] for rule in alert_rules())
    return re.findall(r"\b(opsconsole_[a-z0-9_]+)(?:\{([^}]*)\})?", exprs)


def test_every_metric_the_alerts_read_is_exposed(exposed_samples):
    names = {name for name, _ in selectors()}

    assert names, "the alerts read no opsconsole_* metric"
    assert names - exposed_samples.keys() == set()


def test_every_label_value_the_alerts_match_is_exposed(exposed_samples):
    for name, matchers in selectors():
        for label, operator, value in re.findall(r'(\w+)\s*(=~|!~|!=|=)\s*"([^"]*)"', matchers):
            exposed = {labels.get(label) for labels in exposed_samples[name]}
            assert exposed - {None}, f"{name} has no label {label}"
            # a plain value, or plain alternatives: each one must be a value /metrics reports
            if operator in ("=", "=~") and re.fullmatch(r"\w+(\|\w+)*", value):
                assert set(value.split("|")) <= exposed, f"{name}{{{label}{operator}{value!r}}}"


@pytest.mark.parametrize("alert", ALERTS)
def test_every_label_an_alert_names_in_its_annotations_is_exposed(alert, exposed_samples):
    rule = next(rule for rule in alert_rules() if rule["alert"] == alert)
    named = set(re.findall(r"\$labels\.(\w+)", " ".join(rule["annotations"].values())))
    # the target's labels come from Prometheus, the others from /metrics
    exposed = {"instance", "job"}
    for name in re.findall(r"\bopsconsole_[a-z0-9_]+", rule["expr"]):
        exposed.update(label for labels in exposed_samples[name] for label in labels)

    assert named - exposed == set()


def test_the_readme_lists_every_alert():
    readme = (PROJECT_DIR / "README.md").read_text()

    assert [alert for alert in ALERTS if f"`{alert}`" not in readme] == []
