#!/usr/bin/env bash
# Start MariaDB, RabbitMQ and Redis if they are not answering, install chromium for browser tests and
# prometheus for the alert tests, and wait until the services accept connections.
set -euo pipefail

port_open() { (exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null; }

wait_port() {
    local name=$1 port=$2
    for _ in $(seq 1 60); do
        port_open "$port" && { echo "$name is up on port $port"; return 0; }
        sleep 1
    done
    echo "ERROR: $name did not come up on port $port" >&2
    return 1
}

if ! port_open 3306; then
    echo "starting MariaDB"
    if ! command -v mariadbd >/dev/null 2>&1 && [ ! -x /usr/sbin/mariadbd ]; then
        apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq mariadb-server >/dev/null
    fi
    mkdir -p /run/mysqld && chown mysql:mysql /run/mysqld 2>/dev/null || true
    start-stop-daemon --start --oknodo --background --exec /usr/sbin/mariadbd
fi
wait_port MariaDB 3306

if ! port_open 5672; then
    echo "starting RabbitMQ"
    if ! command -v rabbitmq-server >/dev/null 2>&1; then
        apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq rabbitmq-server >/dev/null
    fi
    rabbitmq-server -detached
fi
wait_port RabbitMQ 5672
rabbitmqctl await_startup --timeout 120 >/dev/null 2>&1 || true

# Redis: the shared cache the production profile uses (CACHE_URL=redis://…), tested in project/tests
if ! port_open 6379; then
    echo "starting Redis"
    if ! command -v redis-server >/dev/null 2>&1; then
        apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq redis-server >/dev/null
    fi
    redis-server --daemonize yes --save '' --appendonly no >/dev/null
fi
wait_port Redis 6379

# headless Chromium and its WebDriver for tests/browser (Debian's packages; nothing downloaded by tests)
if [ ! -x /usr/bin/chromium ] || [ ! -x /usr/bin/chromedriver ]; then
    echo "installing chromium and chromium-driver"
    apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium chromium-driver >/dev/null
fi

# promtool and prometheus for the alert rules' tests (deploy/prometheus; Debian's package, nothing
# downloaded by tests). The tests start their own server on a free port, never the package's own
# service on 9090, whether or not the package started it
if ! command -v promtool >/dev/null 2>&1 || ! command -v prometheus >/dev/null 2>&1; then
    echo "installing prometheus (promtool)"
    apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends prometheus >/dev/null
fi

# libfaketime for the relay's clock-skew fault tests (tests/faults/test_relay_leases.py)
if ! ls /usr/lib/*/faketime/libfaketimeMT.so.1 >/dev/null 2>&1; then
    echo "installing faketime"
    apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq faketime >/dev/null
fi
