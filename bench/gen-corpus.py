#!/usr/bin/env python3
# Copied from the team's shared folder (shared/bench/gen-corpus.py), unchanged below this line,
# so that the benchmark runs from a plain clone.
"""Generate a synthetic GitOps repository for benchmarks and acceptance checks.

usage: gen-corpus.py OUT_DIR [APPS] [SEED]

Each app gets a folder with raw manifests (Deployment, Service, ConfigMap, CronJob,
StatefulSet, NetworkPolicy), in a realistic mix of pinned, tagged, latest and untagged images
across several registries, with comments and quoting styles that a rewrite must keep.
A third of the apps are kustomize bases with two overlays that retag images.
"""
import os, random, sys, hashlib

out = sys.argv[1]
apps = int(sys.argv[2]) if len(sys.argv) > 2 else 1000
rnd = random.Random(int(sys.argv[3]) if len(sys.argv) > 3 else 7)
REGS = ["registry.example.com/team", "ghcr.io/acme", "docker.io/library", "quay.io/prometheus", "", "gcr.io/distroless"]
NAMES = ["nginx", "redis", "postgres", "api", "worker", "node-exporter", "envoy", "static", "busybox", "alpine"]

def image():
    reg = rnd.choice(REGS); name = rnd.choice(NAMES)
    ref = f"{reg}/{name}" if reg else name
    r = rnd.random()
    if r < 0.25:
        d = hashlib.sha256(ref.encode() + bytes([rnd.randrange(256)])).hexdigest()
        return f"{ref}:1.{rnd.randrange(30)}.{rnd.randrange(9)}@sha256:{d}"
    if r < 0.35: return f"{ref}:latest"
    if r < 0.40: return ref
    return f"{ref}:{rnd.randrange(1,9)}.{rnd.randrange(30)}.{rnd.randrange(9)}"

def q(s):
    return rnd.choice([s, f'"{s}"', f"'{s}'"])

def container(n):
    return f"""      - name: c{n}
        image: {q(image())}  # managed by ops
        ports:
        - containerPort: {8000+n}
        resources:
          limits: {{cpu: 500m, memory: 256Mi}}
"""

def deployment(app, ns, kind="Deployment"):
    cs = "".join(container(i) for i in range(rnd.randrange(1, 4)))
    init = f"""      initContainers:
      - name: init
        image: {q(image())}
""" if rnd.random() < 0.3 else ""
    secrets = "      imagePullSecrets:\n      - name: regcred\n" if rnd.random() < 0.5 else ""
    return f"""# {kind} for {app}
apiVersion: apps/v1
kind: {kind}
metadata:
  name: {app}
  namespace: {ns}
  labels: {{app: {app}, tier: backend}}
spec:
  replicas: {rnd.randrange(1,5)}
  selector:
    matchLabels:
      app: {app}
  template:
    metadata:
      labels:
        app: {app}
    spec:
{secrets}{init}      containers:
{cs}"""

def cronjob(app, ns):
    return f"""apiVersion: batch/v1
kind: CronJob
metadata:
  name: {app}-backup
  namespace: {ns}
spec:
  schedule: "0 3 * * *"
  jobTemplate:
    spec:
      template:
        spec:
          restartPolicy: OnFailure
          containers:
          - name: backup
            image: {q(image())}
            args: ["--all"]
"""

def service(app, ns):
    return f"""apiVersion: v1
kind: Service
metadata: {{name: {app}, namespace: {ns}}}
spec:
  selector: {{app: {app}}}
  ports:
  - port: 80
    targetPort: 8080
"""

def configmap(app, ns):
    lines = "\n".join(f"    key{i} = value{i}" for i in range(rnd.randrange(5, 40)))
    return f"""apiVersion: v1
kind: ConfigMap
metadata:
  name: {app}-config
  namespace: {ns}
data:
  app.conf: |
{lines}
"""

def netpol(app, ns):
    return f"""apiVersion: networking.k8s.io/v1
kind: NetworkPolicy
metadata:
  name: {app}
  namespace: {ns}
spec:
  podSelector:
    matchLabels:
      app: {app}
  policyTypes: [Ingress, Egress]
  ingress:
  - from:
    - podSelector: {{matchLabels: {{app: gateway}}}}
"""

for i in range(apps):
    app = f"app{i:05d}"; ns = f"team{i % 37}"
    d = os.path.join(out, "apps", ns, app)
    os.makedirs(d, exist_ok=True)
    docs = [deployment(app, ns, rnd.choice(["Deployment", "Deployment", "StatefulSet", "DaemonSet"])), service(app, ns), configmap(app, ns)]
    if rnd.random() < 0.4: docs.append(cronjob(app, ns))
    if rnd.random() < 0.6: docs.append(netpol(app, ns))
    if i % 3 == 0:
        base = os.path.join(d, "base"); os.makedirs(base, exist_ok=True)
        names = []
        for j, doc in enumerate(docs):
            fn = f"r{j}.yaml"; names.append(fn)
            open(os.path.join(base, fn), "w").write(doc)
        open(os.path.join(base, "kustomization.yaml"), "w").write(
            "apiVersion: kustomize.config.k8s.io/v1beta1\nkind: Kustomization\nresources:\n" + "".join(f"- {n}\n" for n in names))
        for env in ["staging", "prod"]:
            o = os.path.join(d, "overlays", env); os.makedirs(o, exist_ok=True)
            open(os.path.join(o, "kustomization.yaml"), "w").write(f"""apiVersion: kustomize.config.k8s.io/v1beta1
kind: Kustomization
namespace: {ns}-{env}
namePrefix: {env}-
commonLabels:
  env: {env}
resources:
- ../../base
images:
- name: nginx
  newTag: "1.27.{rnd.randrange(9)}"
- name: ghcr.io/acme/api
  newName: registry.example.com/team/api
  newTag: v{rnd.randrange(1,9)}.0.0
""")
    else:
        open(os.path.join(d, "manifests.yaml"), "w").write("---\n".join(docs))
