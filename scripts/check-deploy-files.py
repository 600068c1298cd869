#!/usr/bin/env python3
"""Checks the deployment files against the properties docs/OPERATIONS.md relies on.

    python3 scripts/check-deploy-files.py        # needs PyYAML (pip install PyYAML)

Reads compose.yaml, .env.example, config/defender-relay.yaml and docs/kubernetes/*.yaml, prints
one line per problem and exits 1 when there is any; prints a summary and exits 0 otherwise.
"""

import glob
import os
import re
import sys

try:
    import yaml
except ImportError:
    print("check-deploy-files.py needs PyYAML: pip install PyYAML")
    sys.exit(1)

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
SECRET_NAME = "postgres_password"
SECRET_PATH = "/run/secrets/" + SECRET_NAME
DEFAULT_SHUTDOWN_GRACE = 10

problems = []
checks = 0


def check(condition, message):
    global checks
    checks += 1
    if not condition:
        problems.append(message)
    return condition


def load_yaml(path, many=False):
    try:
        with open(path, encoding="utf-8") as handle:
            return list(yaml.safe_load_all(handle)) if many else yaml.safe_load(handle)
    except (OSError, yaml.YAMLError) as error:
        problems.append(f"{os.path.relpath(path, ROOT)}: cannot be read as YAML: {error}")
        return None


# --- Compose interpolation ---------------------------------------------------------------------

NAME = re.compile(r"[A-Za-z_][A-Za-z0-9_]*")


def interpolations(text):
    """(name, operator, argument) for each ${...} or $NAME compose replaces in `text`; `$$` is
    a literal `$` and starts nothing."""
    found = []
    i = 0
    while i < len(text):
        if text[i] != "$":
            i += 1
            continue
        following = text[i + 1] if i + 1 < len(text) else ""
        if following == "$":
            i += 2
            continue
        if following == "{":
            end = text.find("}", i + 2)
            if end < 0:
                found.append((None, None, text[i:]))
                break
            body = text[i + 2:end]
            match = NAME.match(body)
            if not match:
                found.append((None, None, body))
            else:
                rest = body[match.end():]
                operator = next((op for op in (":-", "-", ":?", "?", ":+", "+") if rest.startswith(op)), "")
                if rest and not operator:
                    found.append((None, None, body))
                else:
                    found.append((match.group(0), operator, rest[len(operator):]))
            i = end + 1
            continue
        match = NAME.match(text, i + 1)
        if match:
            found.append((match.group(0), "", ""))
            i = match.end()
            continue
        i += 1
    return found


def resolve(text, environment):
    """The value compose gives `text` with `environment`, for the forms compose.yaml uses."""
    def replace(match):
        if match.group(0) == "$$":
            return "$"
        name, operator, argument = match.group(1), match.group(2) or "", match.group(3) or ""
        value = environment.get(name)
        if operator in (":-", ":?") and not value:
            return argument if operator == ":-" else "<" + name + ">"
        if operator in ("-", "?") and value is None:
            return argument if operator == "-" else "<" + name + ">"
        return value or ""
    return re.sub(r"\$\$|\$\{([A-Za-z_][A-Za-z0-9_]*)(:-|-|:\?|\?)?([^}]*)\}", replace, text)


def strings(node):
    """Every string value (not key) in a parsed YAML tree."""
    if isinstance(node, str):
        yield node
    elif isinstance(node, dict):
        for value in node.values():
            yield from strings(value)
    elif isinstance(node, list):
        for value in node:
            yield from strings(value)


def as_list(value):
    if value is None:
        return []
    return value if isinstance(value, list) else [value]


def duration_seconds(text):
    """Compose durations such as 30s, 1m30s, 2m."""
    if isinstance(text, (int, float)):
        return float(text)
    total, matched = 0.0, False
    for number, unit in re.findall(r"(\d+(?:\.\d+)?)(us|ms|s|m|h)", str(text)):
        matched = True
        total += float(number) * {"us": 1e-6, "ms": 1e-3, "s": 1, "m": 60, "h": 3600}[unit]
    return total if matched else None


# --- .env.example --------------------------------------------------------------------------------

def read_env_example(path):
    """Names assigned in .env.example (NAME=... or # NAME=...), the active values, and the
    assignments with no comment right above them."""
    listed, active, undocumented = set(), {}, []
    try:
        with open(path, encoding="utf-8") as handle:
            lines = handle.read().splitlines()
    except OSError as error:
        problems.append(f".env.example: cannot be read: {error}")
        return listed, active
    previous = ""
    for number, line in enumerate(lines, 1):
        stripped = line.strip()
        assignment = re.match(r"^(#\s*)?([A-Z_][A-Z0-9_]*)=(.*)$", stripped)
        if assignment:
            name = assignment.group(2)
            if name not in listed and not previous.startswith("#"):
                undocumented.append((number, name))
            listed.add(name)
            if not assignment.group(1):
                active[name] = assignment.group(3)
        previous = stripped
    for number, name in undocumented:
        check(False, f".env.example:{number}: {name} has no comment saying what it is")
    return listed, active


def shutdown_grace(config_text, source):
    """server.shutdown_grace_seconds of a relay configuration, the default when unset."""
    try:
        config = yaml.safe_load(config_text) or {}
    except yaml.YAMLError as error:
        problems.append(f"{source}: cannot be read as YAML: {error}")
        return DEFAULT_SHUTDOWN_GRACE
    value = (config.get("server") or {}).get("shutdown_grace_seconds", DEFAULT_SHUTDOWN_GRACE)
    try:
        return int(value)
    except (TypeError, ValueError):
        problems.append(f"{source}: server.shutdown_grace_seconds is not a number: {value!r}")
        return DEFAULT_SHUTDOWN_GRACE


# --- compose.yaml --------------------------------------------------------------------------------

def check_compose(compose, env_listed, env_active, grace):
    services = compose.get("services") or {}
    relay, postgres = services.get("relay"), services.get("postgres")
    if not check(isinstance(relay, dict), "compose.yaml: no service named relay"):
        relay = {}
    if not check(isinstance(postgres, dict), "compose.yaml: no service named postgres"):
        postgres = {}

    build = relay.get("build") or {}
    context = build if isinstance(build, str) else build.get("context")
    check(context in (".", "./"), "compose.yaml: relay must be built from this directory (build.context: .)")
    check(isinstance(build, str) or build.get("dockerfile", "Dockerfile") == "Dockerfile",
          "compose.yaml: relay must be built from ./Dockerfile")
    check(relay.get("image") == "defender-relay", "compose.yaml: relay image must be named defender-relay")
    check(postgres.get("image") == "postgres:16-bookworm", "compose.yaml: postgres must run postgres:16-bookworm")

    for name, service in (("relay", relay), ("postgres", postgres)):
        test = as_list((service.get("healthcheck") or {}).get("test"))
        check(bool(test) and test[0] != "NONE", f"compose.yaml: {name} has no healthcheck")
        check(service.get("restart") == "unless-stopped", f"compose.yaml: {name} must have restart: unless-stopped")
    relay_test = as_list((relay.get("healthcheck") or {}).get("test"))
    check(relay_test == ["CMD", "defender-relay", "healthcheck"],
          'compose.yaml: relay healthcheck must be ["CMD", "defender-relay", "healthcheck"]')
    postgres_test = " ".join(map(str, as_list((postgres.get("healthcheck") or {}).get("test"))))
    check("pg_isready" in postgres_test, "compose.yaml: postgres healthcheck must run pg_isready")

    depends = relay.get("depends_on") or {}
    condition = depends.get("postgres", {}).get("condition") if isinstance(depends, dict) else None
    check(condition == "service_healthy", "compose.yaml: relay must depend on postgres with condition: service_healthy")

    named_volumes = set((compose.get("volumes") or {}).keys())
    check(bool(named_volumes), "compose.yaml: no named volume is declared")
    data_volume = None
    for volume in as_list(postgres.get("volumes")):
        source, target = (volume.get("source"), volume.get("target")) if isinstance(volume, dict) else (volume.split(":") + [None])[:2]
        if target == "/var/lib/postgresql/data":
            data_volume = source
    check(data_volume in named_volumes,
          "compose.yaml: postgres must keep /var/lib/postgresql/data on a named volume declared under volumes:")
    check(not postgres.get("ports"), "compose.yaml: postgres must not publish a port")

    secret = (compose.get("secrets") or {}).get(SECRET_NAME) or {}
    check(secret.get("file") == "./secrets/" + SECRET_NAME,
          f"compose.yaml: secrets.{SECRET_NAME} must be read from the file ./secrets/{SECRET_NAME}")
    for name, service in (("relay", relay), ("postgres", postgres)):
        names = [item if isinstance(item, str) else (item or {}).get("source") for item in as_list(service.get("secrets"))]
        targets = [item.get("target") for item in as_list(service.get("secrets")) if isinstance(item, dict) and item.get("target")]
        check(SECRET_NAME in names, f"compose.yaml: {name} must be given the {SECRET_NAME} secret")
        check(not targets or targets == [SECRET_PATH] or targets == [SECRET_NAME],
              f"compose.yaml: {name} must see the secret at {SECRET_PATH}")

    postgres_env = environment_of(postgres)
    check(postgres_env.get("POSTGRES_PASSWORD_FILE") == SECRET_PATH,
          f"compose.yaml: postgres must read its password from POSTGRES_PASSWORD_FILE={SECRET_PATH}")
    check("POSTGRES_PASSWORD" not in postgres_env, "compose.yaml: postgres must not be given POSTGRES_PASSWORD in the environment")

    relay_env = environment_of(relay)
    url = str(relay_env.get("RELAY_STORAGE_URL", ""))
    check(url.startswith("postgres://") and "@postgres:5432/" in url,
          "compose.yaml: relay RELAY_STORAGE_URL must point at postgres:5432")
    check("$${file:" + SECRET_PATH + "}" in url,
          "compose.yaml: RELAY_STORAGE_URL must carry $${file:" + SECRET_PATH + "} ($$ so that the relay, not compose, reads the file)")
    check(relay_env.get("RELAY_HOST") == "0.0.0.0", "compose.yaml: relay must set RELAY_HOST=0.0.0.0 (reachable through its published port)")

    resolved_env = dict(env_active)
    ports = as_list(relay.get("ports"))
    check(bool(ports), "compose.yaml: relay publishes no port")
    for port in ports:
        if isinstance(port, dict):
            host_ip = resolve(str(port.get("host_ip", "")), resolved_env)
        else:
            parts = resolve(str(port), resolved_env).split(":")
            host_ip = parts[0] if len(parts) == 3 else ""
        check(host_ip == "127.0.0.1", f"compose.yaml: relay port {port!r} is published on {host_ip or 'every address'}, not 127.0.0.1")

    stop = duration_seconds(relay.get("stop_grace_period", "10s"))
    check(stop is not None and stop > grace + 5,
          f"compose.yaml: relay stop_grace_period ({relay.get('stop_grace_period', '10s (default)')}) must exceed "
          f"server.shutdown_grace_seconds + 5 = {grace + 5} s")

    for text in strings(compose):
        for name, _, argument in interpolations(text):
            if name is None:
                check(False, f"compose.yaml: '{argument}' is not an interpolation compose accepts (escape a literal $ as $$)")
            else:
                check(name in env_listed, f"compose.yaml interpolates ${{{name}}}, which .env.example does not list")


def environment_of(service):
    environment = service.get("environment") or {}
    if isinstance(environment, list):
        return dict(item.split("=", 1) if "=" in item else (item, None) for item in environment)
    return {key: (str(value) if value is not None else None) for key, value in environment.items()}


# --- .env.example ------------------------------------------------------------------------------

SECRET_WORDS = re.compile(r"TOKEN|PASSWORD|SECRET|WEBHOOK_URL")


def check_env_example(env_listed, env_active, config_text):
    for name, value in env_active.items():
        if SECRET_WORDS.search(name):
            check(value == "", f".env.example: {name} must be empty (no real secret in the example)")
    for name in sorted(config_variables(config_text)):
        check(name in env_listed, f"config/defender-relay.yaml uses ${{{name}}}, which .env.example does not list")


def config_variables(config_text):
    """${NAME} references of the configuration: in its values, and in the commented-out keys an
    operator may uncomment (`#  password: ${SMTP_PASSWORD}`), not in its prose."""
    names = set()
    for line in config_text.splitlines():
        stripped = line.strip()
        if stripped.startswith("#"):
            if not re.match(r"^#\s*(-\s*)?[A-Za-z_][A-Za-z0-9_.]*:", stripped):
                continue
        else:
            stripped = re.sub(r"\s#.*$", "", stripped)
        names.update(re.findall(r"\$\{([A-Za-z_][A-Za-z0-9_]*)", stripped))
    return names


# --- docs/kubernetes ---------------------------------------------------------------------------

def probe_path(container, kind):
    return ((container.get(kind) or {}).get("httpGet") or {}).get("path")


def check_kubernetes(documents, grace):
    deployments = [(path, doc) for path, doc in documents if doc.get("kind") == "Deployment"]
    check(bool(deployments), "docs/kubernetes: no Deployment")
    services = [doc for _, doc in documents if doc.get("kind") == "Service"]
    for path, deployment in deployments:
        where = f"{path}: Deployment {deployment.get('metadata', {}).get('name', '?')}"
        spec = deployment.get("spec") or {}
        pod = (spec.get("template") or {}).get("spec") or {}
        labels = ((spec.get("template") or {}).get("metadata") or {}).get("labels") or {}
        pod_security = pod.get("securityContext") or {}
        period = pod.get("terminationGracePeriodSeconds", 30)
        check(isinstance(period, int) and period > grace + 5,
              f"{where}: terminationGracePeriodSeconds ({period}) must exceed server.shutdown_grace_seconds + 5 = {grace + 5}")
        containers = pod.get("containers") or []
        check(bool(containers), f"{where}: no containers")
        for container in containers:
            name = f"{where}, container {container.get('name', '?')}"
            security = container.get("securityContext") or {}
            check(probe_path(container, "livenessProbe") == "/healthz", f"{name}: livenessProbe must GET /healthz")
            check(probe_path(container, "readinessProbe") == "/readyz", f"{name}: readinessProbe must GET /readyz")
            check(security.get("runAsNonRoot", pod_security.get("runAsNonRoot")) is True, f"{name}: runAsNonRoot must be true")
            check(security.get("runAsUser", pod_security.get("runAsUser")) == 10001, f"{name}: must run as uid 10001 (the image's user)")
            check(security.get("readOnlyRootFilesystem") is True, f"{name}: readOnlyRootFilesystem must be true")
            resources = container.get("resources") or {}
            check(bool(resources.get("requests")) and bool(resources.get("limits")), f"{name}: resources needs requests and limits")
        claims = [volume for volume in pod.get("volumes") or [] if "persistentVolumeClaim" in volume]
        if claims:
            check(spec.get("replicas", 1) == 1, f"{where}: a PersistentVolumeClaim (SQLite) allows one replica only")
            check((spec.get("strategy") or {}).get("type") == "Recreate", f"{where}: on SQLite the strategy must be Recreate")
        selected = any(
            (service.get("spec") or {}).get("selector")
            and all(labels.get(key) == value for key, value in service["spec"]["selector"].items())
            for service in services
        )
        check(selected, f"{where}: no Service in docs/kubernetes selects its pods")
    replicas = sorted(doc.get("spec", {}).get("replicas", 1) for _, doc in deployments)
    check(1 in replicas and any(count >= 3 for count in replicas),
          "docs/kubernetes: expected one single-replica SQLite Deployment and one of 3 replicas on PostgreSQL")


def main():
    compose = load_yaml(os.path.join(ROOT, "compose.yaml"))
    env_listed, env_active = read_env_example(os.path.join(ROOT, ".env.example"))
    config_path = os.path.join(ROOT, "config", "defender-relay.yaml")
    try:
        with open(config_path, encoding="utf-8") as handle:
            config_text = handle.read()
    except OSError as error:
        problems.append(f"config/defender-relay.yaml: cannot be read: {error}")
        config_text = ""
    grace = shutdown_grace(config_text, "config/defender-relay.yaml")
    if isinstance(compose, dict):
        check_compose(compose, env_listed, env_active, grace)
    else:
        check(False, "compose.yaml: not a mapping")
    check_env_example(env_listed, env_active, config_text)

    documents = []
    paths = sorted(glob.glob(os.path.join(ROOT, "docs", "kubernetes", "*.yaml")))
    check(bool(paths), "docs/kubernetes: no manifests")
    k8s_grace = grace
    for path in paths:
        for document in load_yaml(path, many=True) or []:
            if isinstance(document, dict):
                relative = os.path.relpath(path, ROOT)
                documents.append((relative, document))
                if document.get("kind") == "ConfigMap":
                    for key, text in (document.get("data") or {}).items():
                        if key.endswith((".yaml", ".yml")):
                            k8s_grace = max(k8s_grace, shutdown_grace(text, f"{relative}: {key}"))
    check_kubernetes(documents, k8s_grace)

    for problem in problems:
        print(problem)
    if problems:
        print(f"{len(problems)} problem(s) in the deployment files")
        return 1
    print(f"deployment files: {checks} checks passed")
    return 0


if __name__ == "__main__":
    sys.exit(main())
