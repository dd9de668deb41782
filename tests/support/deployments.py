"""A deployment as the daemons see it: a database plus the environment its processes run with."""

import os
from dataclasses import dataclass, field
from urllib.parse import quote

import MySQLdb
import MySQLdb.cursors

# what a MySQL client sends to commit a transaction: a COM_QUERY packet's command byte, then the text
MYSQL_COMMIT = b"\x03commit"
# what only the relay's claim query says (SELECT … FOR UPDATE SKIP LOCKED)
MYSQL_SKIP_LOCKED = b"skip locked"


@dataclass(frozen=True)
class MySQLServer:
    host: str
    port: int
    user: str
    password: str

    @classmethod
    def from_settings_dict(cls, settings_dict: dict) -> "MySQLServer":
        return cls(
            host=settings_dict.get("HOST") or "127.0.0.1",
            port=int(settings_dict.get("PORT") or 3306),
            user=settings_dict.get("USER") or "root",
            password=settings_dict.get("PASSWORD") or "",
        )

    def url(self, database: str, *, host: str | None = None, port: int | None = None) -> str:
        credentials = quote(self.user, safe="")
        if self.password:
            credentials += ":" + quote(self.password, safe="")
        return f"mysql://{credentials}@{host or self.host}:{port or self.port}/{database}"

    def connect(self, database: str | None = None, **kwargs):
        options = {"host": self.host, "port": self.port, "user": self.user, "passwd": self.password, **kwargs}
        if database:
            options["db"] = database
        return MySQLdb.connect(charset="utf8mb4", autocommit=True, **options)

    def create_database(self, name: str) -> None:
        with self.connect() as connection, connection.cursor() as cursor:
            cursor.execute(f"CREATE DATABASE `{name}` CHARACTER SET utf8mb4 COLLATE utf8mb4_unicode_ci")

    def drop_database(self, name: str) -> None:
        with self.connect() as connection, connection.cursor() as cursor:
            cursor.execute(f"DROP DATABASE IF EXISTS `{name}`")


@dataclass
class Deployment:
    """One deployment: its name, its database and the environment of its daemons.

    `query` reads the deployment's database over a connection of its own (never writes): the
    tests look at a deployment from outside, the way support staff would."""

    name: str
    server: MySQLServer
    database: str
    extra_env: dict = field(default_factory=dict)

    @property
    def database_url(self) -> str:
        return self.server.url(self.database)

    def env(self, **overrides) -> dict:
        env = dict(os.environ)
        env.update(
            DJANGO_SETTINGS_MODULE="project.test_settings",
            DATABASE_URL=self.database_url,
            DEPLOYMENT_NAME=self.name,
            PYTHONUNBUFFERED="1",
        )
        env.update(self.extra_env)
        env.update({key: str(value) for key, value in overrides.items()})
        return env

    def query(self, sql: str, params: tuple | list = ()) -> list[dict]:
        with self.server.connect(self.database, cursorclass=MySQLdb.cursors.DictCursor) as connection:
            with connection.cursor() as cursor:
                cursor.execute(sql, params)
                return list(cursor.fetchall())

    def scalar(self, sql: str, params: tuple | list = ()):
        rows = self.query(sql, params)
        return next(iter(rows[0].values())) if rows else None
