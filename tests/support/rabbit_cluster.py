"""A real three-node RabbitMQ cluster on this machine, beside its default broker (5672).

Each node is a `rabbitmq-server` of its own: its own node name, AMQP and distribution ports,
config file (the machine's /etc/rabbitmq/rabbitmq.conf pins the default listener), data and log
directories and an empty plugins file. `rabbitmq-server` drops to the `rabbitmq` user, so the
directories belong to it, and every node shares that user's Erlang cookie
(/var/lib/rabbitmq/.erlang.cookie), which is what lets them, and rabbitmqctl, talk. Nodes 2 and 3
join node 1 with `rabbitmqctl stop_app / join_cluster / start_app`. The README's "three nodes on
one machine" section runs the same steps by hand.
"""

import os
import pwd
import shutil
import signal
import socket
import subprocess
import tempfile
import time
import uuid
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path

RABBITMQ_SERVER = shutil.which("rabbitmq-server") or "/usr/sbin/rabbitmq-server"
RABBITMQCTL = shutil.which("rabbitmqctl") or "/usr/sbin/rabbitmqctl"
START_TIMEOUT_SECS = 120


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def rabbitmq_available() -> bool:
    return os.path.exists(RABBITMQ_SERVER) and os.path.exists(RABBITMQCTL) and _rabbitmq_user() is not None


def _rabbitmq_user():
    try:
        return pwd.getpwnam("rabbitmq")
    except KeyError:
        return None


@dataclass
class RabbitNode:
    name: str  # rabbit-…@localhost
    port: int
    dist_port: int
    base: Path
    process: subprocess.Popen | None = None

    @property
    def url(self) -> str:
        return f"amqp://guest:guest@127.0.0.1:{self.port}/%2F"

    @property
    def address(self) -> str:
        return f"127.0.0.1:{self.port}"

    def env(self) -> dict:
        return dict(
            os.environ,
            RABBITMQ_NODENAME=self.name,
            RABBITMQ_NODE_PORT=str(self.port),
            RABBITMQ_DIST_PORT=str(self.dist_port),
            RABBITMQ_CONFIG_FILE=str(self.base / "rabbitmq.conf"),
            RABBITMQ_MNESIA_BASE=str(self.base / "mnesia"),
            RABBITMQ_LOG_BASE=str(self.base / "log"),
            RABBITMQ_ENABLED_PLUGINS_FILE=str(self.base / "enabled_plugins"),
        )

    def prepare(self) -> None:
        (self.base / "mnesia").mkdir(parents=True, exist_ok=True)
        (self.base / "log").mkdir(parents=True, exist_ok=True)
        # guest may log in from 127.0.0.1 only (RabbitMQ's default): the tests connect from there
        (self.base / "rabbitmq.conf").write_text(f"listeners.tcp.default = 127.0.0.1:{self.port}\n")
        (self.base / "enabled_plugins").write_text("")
        user = _rabbitmq_user()
        for path in [self.base, *self.base.rglob("*")]:
            os.chown(path, user.pw_uid, user.pw_gid)

    def start(self) -> None:
        with open(self.base / "stdout.log", "ab") as log:
            self.process = subprocess.Popen(
                [RABBITMQ_SERVER],
                env=self.env(),
                stdin=subprocess.DEVNULL,
                stdout=log,
                stderr=subprocess.STDOUT,
                start_new_session=True,
            )


class RabbitCluster:
    def __init__(self, size: int = 3):
        self.base = Path(tempfile.mkdtemp(prefix="ops-rabbit-cluster-"))
        self.base.chmod(0o755)
        suffix = uuid.uuid4().hex[:6]
        self.nodes = [
            RabbitNode(f"rabbit-c{n}-{suffix}@localhost", free_port(), free_port(), self.base / f"node{n}")
            for n in range(1, size + 1)
        ]

    @property
    def url(self) -> str:
        """RABBITMQ_URL for the whole cluster."""
        return ",".join(node.url for node in self.nodes)

    def node(self, name: str) -> RabbitNode:
        return next(node for node in self.nodes if node.name == name)

    # -- lifecycle -------------------------------------------------------------------------
    def start(self) -> "RabbitCluster":
        for node in self.nodes:
            node.prepare()
            node.start()
        for node in self.nodes:
            self.await_startup(node)
        first = self.nodes[0]
        for node in self.nodes[1:]:
            self.ctl(node, "stop_app")
            self.ctl(node, "join_cluster", first.name)
            self.ctl(node, "start_app")
        return self

    def await_startup(self, node: RabbitNode) -> None:
        deadline = time.monotonic() + START_TIMEOUT_SECS
        while True:
            if node.process is not None and node.process.poll() is not None:
                raise RuntimeError(f"{node.name} exited ({node.process.returncode}):\n{self.log_tail(node)}")
            result = self.ctl(node, "await_startup", "--timeout", "10", check=False)
            if result.returncode == 0:
                return
            if time.monotonic() > deadline:
                raise RuntimeError(f"{node.name} did not start:\n{result.stdout}\n{self.log_tail(node)}")
            time.sleep(1)

    def stop(self) -> None:
        for node in self.nodes:
            self.kill(node)
        shutil.rmtree(self.base, ignore_errors=True)

    # -- faults ----------------------------------------------------------------------------
    def pid(self, node: RabbitNode) -> int:
        return int(self.ctl(node, "eval", "os:getpid().").stdout.strip().strip('"'))

    def kill(self, node: RabbitNode) -> datetime:
        """SIGKILL the node's Erlang VM: no goodbye to its clients or its peers. Returns when (local
        time, as the daemons log it)."""
        killed_at = datetime.now()
        try:
            pid = self.pid(node)
            killed_at = datetime.now()
            os.kill(pid, signal.SIGKILL)
        except (subprocess.CalledProcessError, ValueError, ProcessLookupError):
            pass  # not running
        if node.process is not None:
            try:
                os.killpg(node.process.pid, signal.SIGKILL)
            except ProcessLookupError:
                pass
            node.process.wait(30)
            node.process = None
        return killed_at

    def stop_node(self, node: RabbitNode) -> datetime:
        """Stop the node cleanly (its VM exits); the cluster remembers it. Returns when it began."""
        stopping_at = datetime.now()
        self.ctl(node, "stop")
        if node.process is not None:
            node.process.wait(60)
            node.process = None
        return stopping_at

    def restart(self, node: RabbitNode) -> None:
        """Start a node that was stopped or killed again; it rejoins the cluster on its own."""
        node.start()
        self.await_startup(node)

    def leader(self, queue: str) -> RabbitNode:
        """The node that leads the quorum queue `queue` now, asked of a node that is running."""
        for asked in self.nodes:
            if asked.process is None:
                continue
            result = self.ctl(asked, "list_queues", "name", "leader", "--quiet", "--no-table-headers", check=False)
            for line in result.stdout.splitlines():
                name, _, leader = line.partition("\t")
                if name == queue and leader.strip():
                    return self.node(leader.strip())
        raise LookupError(f"no leader found for {queue}")

    # -- helpers ---------------------------------------------------------------------------
    def ctl(self, node: RabbitNode, *args: str, check: bool = True) -> subprocess.CompletedProcess:
        result = subprocess.run(
            [RABBITMQCTL, "-n", node.name, *args],
            stdin=subprocess.DEVNULL,
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            text=True,
            timeout=120,
        )
        if check and result.returncode != 0:
            raise subprocess.CalledProcessError(result.returncode, result.args, result.stdout)
        return result

    def log_tail(self, node: RabbitNode, lines: int = 40) -> str:
        text = ""
        for path in [node.base / "stdout.log", *sorted((node.base / "log").glob("*.log"))]:
            try:
                text += f"--- {path.name}\n" + "\n".join(path.read_text(errors="replace").splitlines()[-lines:]) + "\n"
            except OSError:
                pass
        return text
