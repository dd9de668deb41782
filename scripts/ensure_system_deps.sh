#!/usr/bin/env bash
# mysqlclient compiles against the MariaDB client library: make sure its headers and pkg-config
# are present, installing them with apt when we can, or saying exactly what is missing.
set -euo pipefail

if pkg-config --exists libmariadb 2>/dev/null || pkg-config --exists mysqlclient 2>/dev/null; then
    exit 0
fi

packages="libmariadb-dev pkg-config"
if command -v apt-get >/dev/null 2>&1; then
    if [ "$(id -u)" -eq 0 ]; then
        echo "Installing system packages for mysqlclient: $packages"
        apt-get update -qq
        DEBIAN_FRONTEND=noninteractive apt-get install -y -qq $packages >/dev/null
        exit 0
    elif command -v sudo >/dev/null 2>&1 && sudo -n true 2>/dev/null; then
        echo "Installing system packages for mysqlclient: $packages"
        sudo apt-get update -qq
        sudo DEBIAN_FRONTEND=noninteractive apt-get install -y -qq $packages >/dev/null
        exit 0
    fi
fi

cat >&2 <<MSG
ERROR: mysqlclient needs the MariaDB/MySQL client headers and pkg-config, which are missing.
  Debian/Ubuntu: sudo apt-get install $packages
  Fedora/RHEL:   sudo dnf install mariadb-connector-c-devel pkgconf-pkg-config gcc python3-devel
  macOS:         brew install mariadb-connector-c pkg-config
Then run the make command again.
MSG
exit 1
