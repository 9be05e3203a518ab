"""The production topology on one machine, without containers: PostgreSQL and Redis of its own (Debian's
binaries, its own data folder and ports), the action server, two Rasa servers sharing their trackers in
PostgreSQL and their locks in Redis, two service instances, the campaign workers, and nginx in front of
both the service instances and the Rasa servers.

It is what docker-compose.yml describes for container hosts (`SERVICES` names the same services, and
tests/unit/server/test_topology_compose.py keeps the two in step), run as plain processes so that the
fault-injection tests (tests/topology/) can kill, stop and restart any one of them.

    python -m server.topology [--root DIR] [--port 8080]     # Ctrl-C stops everything
"""
from __future__ import annotations

import argparse
import os
import secrets
import shutil
import signal
import subprocess
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path

import httpx

from server.stack import BOT_BIN, MODEL, ROOT, free_port, quiet_env, wait_http

# docker-compose.yml's services, each with the processes that stand for it here.
SERVICES: dict[str, tuple[str, ...]] = {
    "postgres": ("postgres",),
    "redis": ("redis",),
    "actions": ("actions",),
    "rasa": ("rasa-1", "rasa-2"),
    "service": ("service-1", "service-2"),
    "callout-worker": ("worker",),
    "lb": ("nginx",),
}
# What every service process is told, besides the addresses of the others (the same keys docker-compose
# fixes for its service containers rather than passing through from the operator's environment).
FIXED_SERVICE_ENV = {
    "ENVIRONMENT": "production",
    "HOST": "127.0.0.1",
    "CALLOUT_QUEUE": "redis",
    "CALLOUT_WORKERS": "0",
    "LOG_FORMAT": "json",
}
NGINX_CONF = """# Written by server/topology.py: the same load balancing as deploy/nginx.conf, on local ports.
worker_processes 1;
error_log {root}/nginx/error.log warn;
pid {root}/nginx/nginx.pid;
events {{}}
http {{
  access_log off;
  client_body_temp_path {root}/nginx/tmp/body;
  proxy_temp_path {root}/nginx/tmp/proxy;
  fastcgi_temp_path {root}/nginx/tmp/fastcgi;
  uwsgi_temp_path {root}/nginx/tmp/uwsgi;
  scgi_temp_path {root}/nginx/tmp/scgi;
  map $http_upgrade $connection_upgrade {{ default upgrade; '' close; }}
  upstream service {{
    server 127.0.0.1:{service_1} max_fails=1 fail_timeout=5s;
    server 127.0.0.1:{service_2} max_fails=1 fail_timeout=5s;
  }}
  upstream rasa {{
    server 127.0.0.1:{rasa_1} max_fails=1 fail_timeout=5s;
    server 127.0.0.1:{rasa_2} max_fails=1 fail_timeout=5s;
  }}
  server {{
    listen 127.0.0.1:{port};
    client_max_body_size 21m;
    location = /metrics {{ return 404; }}
    location / {{
      proxy_pass http://service;
      proxy_http_version 1.1;
      proxy_set_header Upgrade $http_upgrade;
      proxy_set_header Connection $connection_upgrade;
      proxy_set_header Host $host;
      proxy_set_header X-Forwarded-For $proxy_add_x_forwarded_for;
      proxy_set_header X-Request-ID $request_id;
      proxy_next_upstream error timeout http_502 http_503 http_504;
      proxy_connect_timeout 2s;
      proxy_read_timeout 120s;
    }}
  }}
  server {{
    listen 127.0.0.1:{rasa_port};
    location / {{
      proxy_pass http://rasa;
      proxy_http_version 1.1;
      # A message to Rasa is answered once: retried on another server only if it never reached one.
      proxy_next_upstream error timeout non_idempotent;
      proxy_connect_timeout 2s;
      proxy_read_timeout 30s;
    }}
  }}
}}
"""


def _postgres_bin() -> Path:
    versions = sorted(Path("/usr/lib/postgresql").glob("*/bin"), key=lambda p: int(p.parent.name))
    if not versions:
        raise FileNotFoundError("PostgreSQL is needed: apt-get install postgresql")
    return versions[-1]


def _as_postgres(args: list[str], **kwargs: object) -> subprocess.CompletedProcess:
    """PostgreSQL refuses to run as root: its commands run as the postgres user when we are root."""
    if os.geteuid() == 0:
        args = ["runuser", "-u", "postgres", "--", *args]
    return subprocess.run(args, check=True, capture_output=True, text=True, **kwargs)  # type: ignore[call-overload]


def _own(path: Path) -> None:
    if os.geteuid() == 0:
        shutil.chown(path, "postgres")


@dataclass
class Topology:
    root: Path
    port: int = 0  # nginx's port for the service (0: a free one)
    secrets: dict[str, str] = field(default_factory=dict)
    extra_env: dict[str, str] = field(default_factory=dict)  # more settings for the service processes
    ports: dict[str, int] = field(default_factory=dict)
    processes: dict[str, subprocess.Popen] = field(default_factory=dict)

    def __post_init__(self) -> None:
        self.root = self.root.resolve()
        names = ("postgres", "redis", "actions", "rasa-1", "rasa-2", "rasa-lb", "service-1", "service-2")
        self.ports = {name: free_port() for name in names} | {"nginx": self.port or free_port()}
        self.secrets = {key: secrets.token_urlsafe(24) for key in (
            "SESSION_SECRET", "APP_API_KEY", "BOT_API_KEY", "OUTREACH_BUSINESS_SECRET")}

    # -- addresses ---------------------------------------------------------------------------------------

    @property
    def base_url(self) -> str:
        return f"http://127.0.0.1:{self.ports['nginx']}"

    def url_of(self, name: str) -> str:
        return f"http://127.0.0.1:{self.ports[name]}"

    @property
    def database_url(self) -> str:
        return f"postgresql://hpf:hpf@127.0.0.1:{self.ports['postgres']}/hpf"

    @property
    def redis_url(self) -> str:
        return f"redis://127.0.0.1:{self.ports['redis']}/0"

    def log(self, name: str) -> Path:
        return self.root / "logs" / f"{name}.log"

    # -- environments ------------------------------------------------------------------------------------

    def service_env(self, name: str) -> dict[str, str]:
        return quiet_env(
            **FIXED_SERVICE_ENV, **self.secrets,
            PORT=str(self.ports.get(name, 0)),
            DATABASE_URL=self.database_url, REDIS_URL=self.redis_url,
            RASA_URL=self.url_of("rasa-lb"), ACTION_SERVER_URL=self.url_of("actions"),
            PUBLIC_BASE_URL=self.base_url, DATA_DIR=str(self.root / "data"),
            # Tests reach the instances from one address: per-address limits would count them all as one.
            RATE_LIMIT_ADDRESS="0", RATE_LIMIT_SESSIONS="0",
            **self.extra_env,
        )

    def bot_env(self) -> dict[str, str]:
        return quiet_env(
            ACTION_SERVER_URL=self.url_of("actions"), HPF_SERVICE_URL=self.base_url,
            BOT_API_KEY=self.secrets["BOT_API_KEY"], DATA_DIR=str(self.root / "data"),
            RASA_DB_HOST="127.0.0.1", RASA_DB_PORT=str(self.ports["postgres"]), RASA_DB_NAME="rasa",
            RASA_DB_USER="hpf", RASA_DB_PASSWORD="hpf",
            REDIS_HOST="127.0.0.1", REDIS_PORT=str(self.ports["redis"]), REDIS_PASSWORD="", RASA_REDIS_LOCK_DB="1",
        )

    # -- the whole -------------------------------------------------------------------------------------

    def start(self, timeout: float = 400) -> None:
        if not MODEL.exists():
            raise FileNotFoundError(f"{MODEL} is missing: run scripts/train.sh first")
        (self.root / "logs").mkdir(parents=True, exist_ok=True)
        (self.root / "data").mkdir(parents=True, exist_ok=True)
        self.start_postgres()
        self.start_process("redis")
        self.start_process("nginx")
        for name in ("actions", "rasa-1", "rasa-2", "service-1", "service-2", "worker"):
            self.start_process(name)
        for name in ("actions", "rasa-1", "rasa-2", "service-1", "service-2"):
            self.wait_ready(name, timeout)

    def stop(self) -> None:
        for name in reversed(list(self.processes)):
            self.stop_process(name)
        self.stop_postgres()

    # -- PostgreSQL (pg_ctl: a server of its own, so restarting it touches nobody else) -----------------

    @property
    def pg_data(self) -> Path:
        return self.root / "postgres"

    def start_postgres(self) -> None:
        bin_dir = _postgres_bin()
        fresh = not (self.pg_data / "PG_VERSION").exists()
        if fresh:
            self.pg_data.mkdir(parents=True, exist_ok=True)
            _own(self.pg_data)
            _as_postgres([str(bin_dir / "initdb"), "-D", str(self.pg_data), "-U", "postgres", "--auth=trust",
                          "-E", "UTF8", "--locale=C.UTF-8"])
        log = self.log("postgres")
        log.touch()
        _own(log)
        _as_postgres([str(bin_dir / "pg_ctl"), "-D", str(self.pg_data), "-l", str(log), "-w", "-t", "60", "-o",
                      f"-p {self.ports['postgres']} -k /tmp -c listen_addresses=127.0.0.1 -c fsync=off", "start"])
        if fresh:
            psql = [str(bin_dir / "psql"), "-h", "127.0.0.1", "-p", str(self.ports["postgres"]), "-U", "postgres",
                    "-qc"]
            _as_postgres([*psql, "CREATE ROLE hpf LOGIN SUPERUSER PASSWORD 'hpf'"])
            _as_postgres([*psql, "CREATE DATABASE hpf OWNER hpf"])
            _as_postgres([*psql, "CREATE DATABASE rasa OWNER hpf"])

    def stop_postgres(self, mode: str = "fast") -> None:
        if (self.pg_data / "postmaster.pid").exists():
            _as_postgres([str(_postgres_bin() / "pg_ctl"), "-D", str(self.pg_data), "-m", mode, "-w", "stop"])

    # -- the other processes ----------------------------------------------------------------------------

    def command(self, name: str) -> tuple[list[str], dict[str, str], Path]:
        rasa = str(BOT_BIN / "rasa")
        if name == "redis":
            return ["redis-server", "--port", str(self.ports["redis"]), "--bind", "127.0.0.1", "--save", "",
                    "--appendonly", "no"], quiet_env(), ROOT
        if name == "nginx":
            return self._nginx(), quiet_env(), ROOT
        if name == "actions":
            return [rasa, "run", "actions", "--actions", "actions", "--port", str(self.ports["actions"])], \
                self.bot_env(), ROOT / "bot"
        if name.startswith("rasa-"):
            return [rasa, "run", "--enable-api", "-i", "127.0.0.1", "-p", str(self.ports[name]), "-m", str(MODEL),
                    "--endpoints", "bot/endpoints.production.yml", "--credentials", "bot/credentials.yml"], \
                self.bot_env(), ROOT
        if name.startswith("service-"):
            return [sys.executable, "-m", "server"], self.service_env(name), ROOT
        if name == "worker":
            return [sys.executable, "-m", "callout.worker", "--workers", "2"], self.service_env(name), ROOT
        raise KeyError(name)

    def _nginx(self) -> list[str]:
        folder = self.root / "nginx"
        for sub in ("body", "proxy", "fastcgi", "uwsgi", "scgi"):
            (folder / "tmp" / sub).mkdir(parents=True, exist_ok=True)
            os.chmod(folder / "tmp" / sub, 0o777)  # nginx's workers run as an unprivileged user
        conf = folder / "nginx.conf"
        conf.write_text(NGINX_CONF.format(
            root=self.root, port=self.ports["nginx"], rasa_port=self.ports["rasa-lb"],
            service_1=self.ports["service-1"], service_2=self.ports["service-2"],
            rasa_1=self.ports["rasa-1"], rasa_2=self.ports["rasa-2"]), encoding="utf-8")
        return [shutil.which("nginx") or "/usr/sbin/nginx", "-p", str(folder), "-c", str(conf),
                "-g", "daemon off;"]

    def start_process(self, name: str) -> None:
        args, env, cwd = self.command(name)
        log = open(self.log(name), "ab")
        self.processes[name] = subprocess.Popen(args, cwd=cwd, env=env, stdout=log, stderr=subprocess.STDOUT,
                                                start_new_session=True)

    def health_url(self, name: str) -> str:
        if name == "actions":
            return f"{self.url_of('actions')}/health"
        if name.startswith("rasa-"):
            return f"{self.url_of(name)}/status"
        return f"{self.url_of(name)}/readyz"

    def wait_ready(self, name: str, timeout: float = 300) -> None:
        wait_http(self.health_url(name), timeout, self.processes.get(name))

    def kill(self, name: str, sig: int = signal.SIGKILL) -> None:
        """`kill -9` (by default) of one process, as a crash would."""
        process = self.processes[name]
        os.killpg(process.pid, sig)
        process.wait(timeout=30)

    def stop_process(self, name: str) -> None:
        process = self.processes.get(name)
        if process is None or process.poll() is not None:
            return
        os.killpg(process.pid, signal.SIGTERM)
        try:
            process.wait(timeout=20)
        except subprocess.TimeoutExpired:
            os.killpg(process.pid, signal.SIGKILL)
            process.wait(timeout=10)

    def restart(self, name: str, timeout: float = 300) -> None:
        self.stop_process(name)
        self.start_process(name)
        if name not in ("redis", "nginx", "worker"):
            self.wait_ready(name, timeout)

    def tail_logs(self, chars: int = 3000) -> str:
        present = sorted((self.root / "logs").glob("*.log"))
        return "\n".join(f"---- {p.stem}\n{p.read_text(errors='replace')[-chars:]}" for p in present)


def main() -> int:
    parser = argparse.ArgumentParser(prog="python -m server.topology", description=__doc__.split("\n")[0])
    parser.add_argument("--root", type=Path, default=ROOT / "data" / "topology", help="its data and logs")
    parser.add_argument("--port", type=int, default=8080, help="nginx's port for the service")
    options = parser.parse_args()
    topology = Topology(options.root, port=options.port)
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(0))
    try:
        print(f"==> starting the production topology (logs in {topology.root / 'logs'})", file=sys.stderr, flush=True)
        topology.start()
        print(f"\n生产拓扑已启动：{topology.base_url}   （Ctrl-C 停止）\n"
              f"APP_API_KEY={topology.secrets['APP_API_KEY']}", flush=True)
        while all(p.poll() is None for p in topology.processes.values()):
            time.sleep(1)
        print("error: a process stopped unexpectedly\n" + topology.tail_logs(), file=sys.stderr)
        return 1
    except KeyboardInterrupt:
        return 0
    except (TimeoutError, RuntimeError, FileNotFoundError, subprocess.CalledProcessError, httpx.HTTPError) as exc:
        print(f"error: {exc}\n{topology.tail_logs()}", file=sys.stderr)
        return 1
    finally:
        print("==> stopping", file=sys.stderr)
        topology.stop()


if __name__ == "__main__":
    sys.exit(main())
