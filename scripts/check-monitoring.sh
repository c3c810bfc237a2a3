#!/usr/bin/env bash
# Checks deploy/prometheus and deploy/grafana the way Prometheus and Grafana will read them:
# rules and their unit tests, the scrape jobs (config and relabeling), the dashboard's PromQL,
# and that both use only the docker_sync_* names of deploy/prometheus/metric-names.txt.
# Run from the repository root: scripts/check-monitoring.sh
set -euo pipefail

for tool in promtool python3; do
  if ! command -v "$tool" >/dev/null 2>&1; then
    echo "check-monitoring: $tool is missing (Debian: apt-get install prometheus python3)" >&2
    exit 1
  fi
done

prom=deploy/prometheus
dashboard=deploy/grafana/docker-image-sync.json
if [[ ! -f $prom/alerts.rules.yml ]]; then
  echo "check-monitoring: run me from the repository root ($prom/alerts.rules.yml not found)" >&2
  exit 1
fi

work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT

step() { printf '\n== %s\n' "$*"; }

step "alert rules"
promtool check rules "$prom/alerts.rules.yml"
promtool test rules "$prom/alerts.test.yml"

step "scrape config"
# The jobs as they are, with the rules, in the smallest prometheus.yml that loads them.
{
  printf 'global:\n  scrape_interval: 30s\n  evaluation_interval: 30s\nrule_files:\n  - %s\n' \
    "$PWD/$prom/alerts.rules.yml"
  cat "$prom/scrape.yml"
} >"$work/prometheus.yml"
printf 'scrape_configs:\n  - job_name: probe\n    kubernetes_sd_configs:\n      - role: pod\n' \
  >"$work/k8s-probe.yml"
if promtool check config "$work/k8s-probe.yml" >/dev/null 2>&1; then
  promtool check config "$work/prometheus.yml"
else
  # Debian's prometheus is built without Kubernetes discovery: promtool refuses the field.
  echo "NOTE: this promtool has no kubernetes_sd_configs; the docker-sync job's discovery"
  echo "      block is checked below with simulated pods instead, the rest as written."
fi
# The same file with the pod discovery replaced by static targets that carry the labels
# Kubernetes discovery would give: promtool then applies the real relabel rules to them.
python3 - "$work/prometheus.yml" "$work/simulated.yml" <<'PY'
import re, sys
src, dst = sys.argv[1], sys.argv[2]
pods = """static_configs:
      - targets: ["10.0.0.11:8080"]
        labels:
          __meta_kubernetes_namespace: docker-sync
          __meta_kubernetes_pod_name: docker-sync-api-a
          __meta_kubernetes_pod_ip: 10.0.0.11
          __meta_kubernetes_pod_phase: Running
          __meta_kubernetes_pod_annotation_prometheus_io_scrape: "true"
          __meta_kubernetes_pod_annotation_prometheus_io_port: "5000"
          __meta_kubernetes_pod_annotation_prometheus_io_path: /metrics
      - targets: ["[fd00::12]:8080"]
        labels:
          __meta_kubernetes_namespace: docker-sync
          __meta_kubernetes_pod_name: docker-sync-api-b
          __meta_kubernetes_pod_ip: fd00::12
          __meta_kubernetes_pod_phase: Running
          __meta_kubernetes_pod_annotation_prometheus_io_scrape: "true"
          __meta_kubernetes_pod_annotation_prometheus_io_port: "5000"
      - targets: ["10.0.0.13"]
        labels:
          __meta_kubernetes_namespace: docker-sync
          __meta_kubernetes_pod_name: docker-sync-worker-c
          __meta_kubernetes_pod_ip: 10.0.0.13
          __meta_kubernetes_pod_phase: Running
      - targets: ["10.0.0.14:8080"]
        labels:
          __meta_kubernetes_namespace: docker-sync
          __meta_kubernetes_pod_name: docker-sync-api-old
          __meta_kubernetes_pod_ip: 10.0.0.14
          __meta_kubernetes_pod_phase: Succeeded
          __meta_kubernetes_pod_annotation_prometheus_io_scrape: "true"
          __meta_kubernetes_pod_annotation_prometheus_io_port: "5000"
"""
lines = open(src).read().split("\n")
out, i, replaced = [], 0, 0
while i < len(lines):
    m = re.match(r"^(\s*)kubernetes_sd_configs:\s*$", lines[i])
    if not m:
        out.append(lines[i]); i += 1; continue
    indent = len(m.group(1))
    out.append(" " * indent + pods.replace("\n      ", "\n" + " " * (indent + 2)).rstrip("\n"))
    i += 1
    while i < len(lines) and (not lines[i].strip() or len(lines[i]) - len(lines[i].lstrip()) > indent):
        i += 1
    replaced += 1
if replaced != 1:
    sys.exit(f"expected one kubernetes_sd_configs block in scrape.yml, found {replaced}")
open(dst, "w").write("\n".join(out))
PY
promtool check config "$work/simulated.yml"
promtool check service-discovery --timeout=5s "$work/simulated.yml" docker-sync >"$work/sd-pods.json"
promtool check service-discovery --timeout=5s "$work/simulated.yml" docker-sync-cluster >"$work/sd-cluster.json"
python3 - "$work/sd-pods.json" "$work/sd-cluster.json" <<'PY'
import json, sys
pods = [t["labels"] for t in json.load(open(sys.argv[1])) if t["labels"]]
cluster = [t["labels"] for t in json.load(open(sys.argv[2])) if t["labels"]]
got = sorted((t["pod"], t["__address__"], t["__metrics_path__"], t["namespace"]) for t in pods)
want = [("docker-sync-api-a", "10.0.0.11:5000", "/metrics", "docker-sync"),
        ("docker-sync-api-b", "[fd00::12]:5000", "/metrics", "docker-sync")]
if got != want:
    sys.exit(f"docker-sync job: targets after relabeling are {got}, expected {want} "
             "(annotated, running api pods on their annotated port; workers and finished pods dropped)")
want_cluster = [("docker-sync-cluster", "docker-sync-api.docker-sync.svc:80", "/metrics/cluster")]
got_cluster = [(t["job"], t["__address__"], t["__metrics_path__"]) for t in cluster]
if got_cluster != want_cluster:
    sys.exit(f"docker-sync-cluster job: targets {got_cluster}, expected exactly {want_cluster}")
print("relabeling: 2 api pods kept on port 5000 (IPv4 and IPv6), worker and finished pod dropped;"
      " one cluster target")
PY

step "dashboard"
python3 - "$dashboard" "$work/dashboard.rules.yml" <<'PY'
import json, re, sys
path, rules_out = sys.argv[1], sys.argv[2]
try:
    d = json.load(open(path))
except ValueError as e:
    sys.exit(f"{path}: not valid JSON: {e}")
errors = []
for key in ("uid", "title"):
    if not d.get(key):
        errors.append(f"dashboard {key} is not set")
if d.get("id") is not None:
    errors.append("dashboard id must be null, so an import creates it anew")
variables = {v["name"]: v for v in d.get("templating", {}).get("list", [])}
if variables.get("datasource", {}).get("type") != "datasource":
    errors.append("no `datasource` template variable of type datasource")
if "label_values(docker_sync_tasks_total, registry)" not in json.dumps(variables.get("registry", {})):
    errors.append("no `registry` variable over label_values(docker_sync_tasks_total, registry)")

def walk(panels):
    for p in panels:
        yield p
        yield from walk(p.get("panels", []))

# Literal stand-ins for Grafana's variables, so each expression is plain PromQL.
subst = {"$__rate_interval": "2m", "$__interval": "1m", "$__range": "6h", "$registry": ".*"}
exprs = []
for p in walk(d.get("panels", [])):
    if p.get("type") == "row":
        continue
    where = f"panel {p.get('id')} ({p.get('title')!r})"
    if p.get("datasource", {}).get("uid") != "${datasource}":
        errors.append(f"{where}: datasource is not ${{datasource}}")
    if not p.get("targets"):
        errors.append(f"{where}: no queries")
    for t in p.get("targets", []):
        e = t.get("expr", "")
        if t.get("datasource", {}).get("uid") != "${datasource}":
            errors.append(f"{where} {t.get('refId')}: datasource is not ${{datasource}}")
        if re.search(r'\b(instance|job|pod)\s*=~?\s*"', e):
            errors.append(f"{where}: hard-coded instance/job/pod matcher in {e}")
        for k, v in subst.items():
            e = e.replace(k, v)
        if "$" in e:
            errors.append(f"{where}: unknown Grafana variable left in {e}")
        exprs.append((f"dashboard_panel_{p.get('id')}_{t.get('refId')}", e))
if errors:
    sys.exit("\n".join(f"{path}: {m}" for m in errors))
with open(rules_out, "w") as f:
    f.write("groups:\n  - name: dashboard\n    rules:\n")
    for name, e in exprs:
        f.write(f"      - record: {name}\n        expr: {json.dumps(e)}\n")
print(f"{len(exprs)} queries in {sum(1 for p in walk(d['panels']) if p.get('type') != 'row')} panels")
PY
# promtool parses each query as PromQL; a syntax error names the panel and query.
promtool check rules "$work/dashboard.rules.yml"

step "metric names"
python3 - "$prom/metric-names.txt" "$dashboard" "$prom/alerts.rules.yml" "$prom/alerts.test.yml" \
  deploy/monitoring.md <<'PY'
import re, sys
names_file, *files = sys.argv[1:]
allowed = set()
for line in open(names_file):
    line = line.split("#", 1)[0].split()
    if not line:
        continue
    name, kind = line[0], line[1]
    allowed.add(name)
    if kind == "histogram":
        allowed.update(name + s for s in ("_bucket", "_sum", "_count"))
# The seed's names, served for old scrapers only: nothing here may build on them.
legacy = ["sync_total", "sync_success", "sync_failed", "sync_skipped", "sync_duration",
          "active_connections", "queue_length", "queue_pending", "queue_lag", "queue_consumers",
          "dead_letters", "ratelimit_remaining", "digest_check_failures_total",
          "http_requests_total", "http_request_duration_seconds", "jobs_submitted_total",
          "login_failures_total"]
errors = []
for path in files:
    text = open(path).read()
    for n in sorted(set(re.findall(r"\bdocker_sync_[a-z0-9_]+", text))):
        if n not in allowed:
            errors.append(f"{path}: {n} is not in {names_file}")
    if path.endswith(".md"):
        continue
    for n in legacy:
        if re.search(rf"(?<![A-Za-z0-9_:.]){n}(?:_bucket|_sum|_count)?(?![A-Za-z0-9_:])", text):
            errors.append(f"{path}: uses the legacy name {n}")
if errors:
    sys.exit("\n".join(errors))
print(f"every docker_sync_* name is one of the {len(allowed)} allowed; no legacy names")
PY

step "every alert tested both ways and documented"
python3 - "$prom/alerts.rules.yml" "$prom/alerts.test.yml" deploy/monitoring.md <<'PY'
import re, sys
rules, tests, doc = (open(p).read() for p in sys.argv[1:])
errors = []
blocks = re.split(r"\n\s*- alert: ", rules)[1:]
for b in blocks:
    name = b.split()[0]
    for needle in ("for:", "severity:", "summary:", "description:", f"runbook: deploy/monitoring.md#{name.lower()}"):
        if needle not in b:
            errors.append(f"{name}: no {needle}")
    cases = re.findall(rf"alertname: {name}\s*\n\s*exp_alerts:(.*)", tests)
    if not any(c.strip() == "[]" for c in cases):
        errors.append(f"{name}: no test case where it must not fire")
    if not any(c.strip() == "" for c in cases):
        errors.append(f"{name}: no test case where it fires")
    if not re.search(rf"^#+ {name}\s*$", doc, re.M):
        errors.append(f"{name}: no section `{name}` in deploy/monitoring.md")
if not blocks:
    errors.append("no alerts found")
if errors:
    sys.exit("\n".join(errors))
print(f"{len(blocks)} alerts: each has for, severity, summary, description, runbook, a firing and a"
      " silent test case, and a section in deploy/monitoring.md")
PY

printf '\nmonitoring checks passed\n'
