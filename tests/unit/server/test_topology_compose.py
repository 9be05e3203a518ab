"""docker-compose.yml (container hosts) and server/topology.py (the same topology as processes, where
the fault tests run) describe one system: the same services, as many Rasa servers and service instances,
and the same settings fixed by the deployment rather than passed through from the operator."""
from __future__ import annotations

import re
from pathlib import Path

import yaml

from server.topology import FIXED_SERVICE_ENV, SERVICES, Topology
from tests.conftest import ROOT

COMPOSE = yaml.safe_load((ROOT / "docker-compose.yml").read_text(encoding="utf-8"))
PASSED_THROUGH = re.compile(r"^\$\{(\w+):-[^}]*\}$")  # ${NAME:-default}: the operator's own value


def topology() -> Topology:
    return Topology(Path("/nonexistent-topology-root"))


def test_the_same_services_and_replicas():
    assert set(COMPOSE["services"]) == set(SERVICES)
    for name in ("rasa", "service"):
        assert COMPOSE["services"][name]["deploy"]["replicas"] == len(SERVICES[name])


def test_the_service_instances_get_the_settings_compose_gives_them():
    compose_env = COMPOSE["services"]["service"]["environment"]
    ours = topology().service_env("service-1")
    fixed = {key for key, value in compose_env.items() if not PASSED_THROUGH.match(str(value))}
    assert fixed <= set(ours), fixed - set(ours)
    for key, value in FIXED_SERVICE_ENV.items():
        if key != "HOST":  # containers listen on every interface, local processes on 127.0.0.1
            assert str(compose_env[key]) == value, key


def test_rasa_and_the_action_server_get_the_same_settings():
    compose_env = COMPOSE["services"]["rasa"]["environment"]
    assert set(compose_env) <= set(topology().bot_env())
