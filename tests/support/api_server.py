"""A deployment's API served by uvicorn in a subprocess, and client threads that use it over HTTP
the way API clients do."""

import http.client
import json
import socket
import subprocess
import sys
import threading
from pathlib import Path

from tests.support.daemons import PROJECT_DIR, wait_until


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


class ApiServer:
    """`uvicorn project.asgi:application` on a free port, stopped gracefully on exit."""

    def __init__(self, *, env: dict, log_path: Path):
        self.env = env
        self.log_path = log_path
        self.port = _free_port()
        self.process: subprocess.Popen | None = None

    def __enter__(self) -> "ApiServer":
        self.log_path.parent.mkdir(parents=True, exist_ok=True)
        with open(self.log_path, "ab") as log:
            self.process = subprocess.Popen(
                [
                    sys.executable,
                    "-m",
                    "uvicorn",
                    "project.asgi:application",
                    "--host",
                    "127.0.0.1",
                    "--port",
                    str(self.port),
                    "--log-level",
                    "warning",
                ],
                cwd=PROJECT_DIR,
                env=self.env,
                stdin=subprocess.DEVNULL,
                stdout=log,
                stderr=subprocess.STDOUT,
            )
        wait_until(self._healthy, timeout=60, interval=0.2, message=self._state)
        return self

    def __exit__(self, *exc_info) -> None:
        self.process.terminate()
        try:
            self.process.wait(30)
        except subprocess.TimeoutExpired:
            self.process.kill()
            self.process.wait(10)

    def _healthy(self) -> bool:
        if self.process.poll() is not None:
            raise AssertionError(f"uvicorn exited {self.process.returncode}:\n{self._state()}")
        try:
            status, _ = self.request("GET", "/healthz")
        except OSError:
            return False
        return status == 200

    def _state(self) -> str:
        return f"uvicorn on port {self.port}:\n{self.log_path.read_text(errors='replace')[-3000:]}"

    def connection(self) -> http.client.HTTPConnection:
        return http.client.HTTPConnection("127.0.0.1", self.port, timeout=30)

    def request(
        self,
        method: str,
        path: str,
        body: dict | None = None,
        *,
        token: str | None = None,
        connection: http.client.HTTPConnection | None = None,
    ) -> tuple[int, dict | None]:
        own = connection is None
        connection = connection or self.connection()
        headers = {"Accept": "application/json"}
        if token:
            headers["Authorization"] = f"Bearer {token}"
        payload = None
        if body is not None:
            payload = json.dumps(body).encode()
            headers["Content-Type"] = "application/json"
        try:
            connection.request(method, path, body=payload, headers=headers)
            response = connection.getresponse()
            raw = response.read()
        finally:
            if own:
                connection.close()
        content_type = response.getheader("Content-Type", "")
        return response.status, json.loads(raw) if raw and "json" in content_type else None

    def login(self, username: str, password: str) -> str:
        status, body = self.request("POST", "/api/auth/login/", {"username": username, "password": password})
        assert status == 200, body
        return body["access"]


class ApiClientThread(threading.Thread):
    """Creates users through the API until stopped, and updates every other one it created.
    Every answer that is not the expected 2xx is kept in `failures`."""

    def __init__(self, server: ApiServer, token: str, *, prefix: str, password: str):
        super().__init__(daemon=True, name=f"api-client-{prefix}")
        self.server = server
        self.token = token
        self.prefix = prefix
        self.password = password
        self.stopped = threading.Event()
        self.requests = 0
        self.created = 0
        self.failures: list[tuple[str, int, object]] = []

    def _call(self, connection, method: str, path: str, body: dict, expected: int):
        try:
            status, answer = self.server.request(method, path, body, token=self.token, connection=connection)
        except (OSError, http.client.HTTPException) as exc:
            self.failures.append((f"{method} {path}", 0, repr(exc)))
            return None
        self.requests += 1
        if status != expected:
            self.failures.append((f"{method} {path}", status, answer))
            return None
        return answer

    def run(self) -> None:
        connection = self.server.connection()
        n = 0
        try:
            while not self.stopped.is_set():
                n += 1
                username = f"{self.prefix}-{n:05d}"
                created = self._call(
                    connection,
                    "POST",
                    "/api/users/",
                    {
                        "username": username,
                        "password": self.password,
                        "email": f"{username}@a.example",
                        "first_name": "v1",
                        "course": "Soak",
                    },
                    201,
                )
                if created is None:
                    connection.close()
                    connection = self.server.connection()
                    continue
                self.created += 1
                if n % 2 == 0:
                    self._call(connection, "PATCH", f"/api/users/{created['id']}/", {"first_name": "v2"}, 200)
        finally:
            connection.close()
