// End to end on the compose cluster (docker-compose.yml): three etcd members, the control plane
// and three node containers, each node with its own Docker engine, skiff-kubelet, skiff-proxy
// and skiff-net, all from the Skiff image (make images). Driven from the host with the real
// kubectl as a user would, through Debian's docker-compose 1.29 (or `docker compose`).
// The tests run in order: each builds on the cluster the one before left.
import { test, before, after } from "node:test";
import assert from "node:assert/strict";
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { freePort } from "@skiff/testing";
import { checkClusterDNS } from "../dns-checks.js";
import { eventually, httpGet, run } from "../lib.js";

const root = new URL("../../", import.meta.url).pathname;
const state = mkdtempSync(join(tmpdir(), "skiff-compose-"));
const kubeconfig = join(state, "kubeconfig");
const project = `skiffe2e${process.pid}`;
// A /24 of its own, apart from the default 172.28.0 a user's cluster would take.
const prefix = "172.28.241";
const nodeIP = (n: number) => `${prefix}.${30 + n}`;
const nodes = ["node1", "node2", "node3"];
let env: NodeJS.ProcessEnv;
let compose: string[];

async function dc(...args: string[]) {
  const r = await run(compose[0]!, [...compose.slice(1), "-p", project, ...args], env);
  assert.equal(r.code, 0, `${compose.join(" ")} ${args.join(" ")}: ${r.err}${r.out}`);
  return r.out;
}

async function kubectl(...args: string[]): Promise<string> {
  const r = await run("kubectl", [`--cache-dir=${join(state, "kubectl-cache")}`, ...args], env);
  assert.equal(r.code, 0, `kubectl ${args.join(" ")}: ${r.err}${r.out}`);
  return r.out;
}

async function json<T>(...args: string[]): Promise<T> {
  return JSON.parse(await kubectl(...args, "-o", "json")) as T;
}

interface Pod {
  metadata: { name: string; deletionTimestamp?: string; labels?: Record<string, string> };
  spec: { nodeName?: string };
  status: { podIP?: string; phase?: string; conditions?: { type: string; status: string }[] };
}
interface NodeObj {
  metadata: { name: string; annotations?: Record<string, string> };
  spec: { podCIDR?: string };
  status: {
    conditions?: { type: string; status: string }[];
    addresses?: { type: string; address: string }[];
  };
}

const ready = (o: { status: { conditions?: { type: string; status: string }[] } }) =>
  o.status.conditions?.find((c) => c.type === "Ready")?.status === "True";

async function nodeStates(): Promise<Map<string, boolean>> {
  const list = await json<{ items: NodeObj[] }>("get", "nodes");
  return new Map(list.items.map((n) => [n.metadata.name, ready(n)]));
}

async function allNodesReady(): Promise<boolean> {
  const states = await nodeStates();
  return nodes.every((n) => states.get(n) === true);
}

async function whoPods(): Promise<Pod[]> {
  const list = await json<{ items: Pod[] }>("get", "pods", "-l", "app=who");
  return list.items;
}

/** The running, ready, not terminating `who` pods. */
async function servingWhoPods(): Promise<Pod[]> {
  return (await whoPods()).filter((p) => !p.metadata.deletionTimestamp && ready(p));
}

/** `hostname callerIP` from a `who` server, fetched inside the client pod. */
async function fromClient(url: string): Promise<string> {
  return (await kubectl("exec", "client", "--", "timeout", "5", "wget", "-qO-", url)).trim();
}

async function containerOf(service: string): Promise<string> {
  const id = (await dc("ps", "-q", service)).trim();
  assert.ok(id, `no container for ${service}`);
  return id;
}

// A server that answers with its pod's name and the caller's address (busybox httpd's CGI
// REMOTE_ADDR), spread over the nodes; a client pod on node1; a ClusterIP and a NodePort.
// Short NoExecute tolerations so that pods leave a lost node quickly.
const manifest = `
apiVersion: apps/v1
kind: Deployment
metadata: {name: who}
spec:
  replicas: 6
  selector: {matchLabels: {app: who}}
  template:
    metadata: {labels: {app: who}}
    spec:
      terminationGracePeriodSeconds: 2
      tolerations:
      - {key: node.kubernetes.io/not-ready, operator: Exists, effect: NoExecute, tolerationSeconds: 5}
      - {key: node.kubernetes.io/unreachable, operator: Exists, effect: NoExecute, tolerationSeconds: 5}
      containers:
      - name: who
        image: skiff.local/busybox:1.36
        command:
        - sh
        - -c
        - |
          mkdir -p /www/cgi-bin
          cat >/www/cgi-bin/who <<'EOF'
          #!/bin/sh
          ip=\${REMOTE_ADDR#"[::ffff:"}
          echo "Content-Type: text/plain"
          echo
          echo "$(hostname) \${ip%"]"}"
          EOF
          chmod +x /www/cgi-bin/who
          exec httpd -f -p 8080 -h /www
        ports: [{containerPort: 8080}]
        readinessProbe: {httpGet: {path: /cgi-bin/who, port: 8080}, periodSeconds: 1}
        resources: {requests: {cpu: 50m}}
---
apiVersion: v1
kind: Service
metadata: {name: who}
spec:
  selector: {app: who}
  ports: [{port: 80, targetPort: 8080}]
---
apiVersion: v1
kind: Service
metadata: {name: who-nodeport}
spec:
  type: NodePort
  selector: {app: who}
  ports: [{port: 80, targetPort: 8080, nodePort: 30080}]
---
apiVersion: v1
kind: Pod
metadata: {name: client}
spec:
  nodeName: node1
  terminationGracePeriodSeconds: 1
  containers:
  - {name: client, image: skiff.local/busybox:1.36, command: ["sleep", "1000000"]}
`;

before(async () => {
  compose =
    (await run("docker", ["compose", "version"], process.env)).code === 0
      ? ["docker", "compose"]
      : ["docker-compose"];
  env = {
    ...process.env,
    SKIFF_API_PORT: String(await freePort()),
    SKIFF_NET_PREFIX: prefix,
    SKIFF_COMPOSE_STATE: state,
    SKIFF_NET_BACKEND: "vxlan",
    KUBECONFIG: kubeconfig,
    COMPOSE_FILE: join(root, "docker-compose.yml"),
  };
  const started = Date.now();
  await dc("up", "-d");
  await eventually("three nodes Ready", allNodesReady, 120_000);
  console.log(`# compose up → 3 nodes Ready in ${((Date.now() - started) / 1000).toFixed(1)} s`);
});

after(async () => {
  if (compose) {
    const r = await run(
      compose[0]!,
      [...compose.slice(1), "-p", project, "down", "-v", "--remove-orphans", "-t", "5"],
      env,
    );
    if (r.code !== 0) console.log(r.out, r.err);
  }
  rmSync(state, { recursive: true, force: true });
});

test("three nodes register with their own addresses and pod CIDRs", async () => {
  // A node is Ready before its network agent has published the backend on it (the agent waits
  // for the podCIDR, then PATCHes): wait for all three agents' annotations.
  const list = await eventually(
    "every node's network agent annotations",
    async () => {
      const l = await json<{ items: NodeObj[] }>("get", "nodes");
      return (
        l.items.length === nodes.length &&
        l.items.every((n) => n.metadata.annotations?.["net.skiff.io/vtep-mac"]) &&
        l
      );
    },
    60_000,
  );
  const byName = new Map(list.items.map((n) => [n.metadata.name, n]));
  const cidrs = new Set<string>();
  for (const [i, name] of nodes.entries()) {
    const n = byName.get(name);
    assert.ok(n, `node ${name} registered`);
    const ip = n.status.addresses?.find((a) => a.type === "InternalIP")?.address;
    assert.equal(ip, nodeIP(i + 1));
    assert.match(n.spec.podCIDR ?? "", /^10\.244\.\d+\.0\/24$/);
    cidrs.add(n.spec.podCIDR!);
    assert.equal(n.metadata.annotations?.["net.skiff.io/backend-type"], "vxlan");
    assert.match(
      n.metadata.annotations?.["net.skiff.io/vtep-mac"] ?? "",
      /^([0-9a-f]{2}:){5}[0-9a-f]{2}$/,
    );
  }
  assert.equal(cidrs.size, 3, "each node has its own pod CIDR");
});

test("a Deployment spreads over every node", async () => {
  const file = join(state, "who.yaml");
  writeFileSync(file, manifest);
  await kubectl("apply", "-f", file);
  await kubectl("rollout", "status", "deploy/who", "--timeout=120s");
  await eventually(
    "the client pod Running",
    async () => ready(await json<Pod>("get", "pod", "client")),
    60_000,
  );
  const onNodes = new Set((await servingWhoPods()).map((p) => p.spec.nodeName));
  assert.deepEqual([...onNodes].sort(), nodes);
});

test("a pod reaches pods on other nodes by pod IP, and they see its own IP", async () => {
  const client = await json<Pod>("get", "pod", "client");
  const elsewhere = (await servingWhoPods()).filter((p) => p.spec.nodeName !== "node1");
  assert.ok(elsewhere.length >= 2);
  for (const p of elsewhere) {
    const [name, caller] = (await fromClient(`http://${p.status.podIP}:8080/cgi-bin/who`)).split(
      " ",
    );
    assert.equal(name, p.metadata.name);
    assert.equal(
      caller,
      client.status.podIP,
      `${p.metadata.name} on ${p.spec.nodeName} saw the caller's pod IP`,
    );
  }
});

test("NetworkPolicy across nodes: default-deny ingress, then an allow rule for labelled pods only", async () => {
  const client = await json<Pod>("get", "pod", "client");
  const serving = await servingWhoPods();
  const target = serving.find((p) => p.spec.nodeName === "node2");
  const other = serving.find((p) => p.spec.nodeName === "node3");
  assert.ok(target && other, "who pods on node2 and node3");
  const url = `http://${target.status.podIP}:8080/cgi-bin/who`;
  /** What a wget from `pod` gets; "" when the connection fails. */
  const fetchFrom = async (pod: string) => {
    const r = await run(
      "kubectl",
      [
        `--cache-dir=${join(state, "kubectl-cache")}`,
        "exec",
        pod,
        "--",
        "timeout",
        "3",
        "wget",
        "-qO-",
        url,
      ],
      env,
    );
    return r.code === 0 ? r.out.trim() : "";
  };
  const file = join(state, "netpol.yaml");
  writeFileSync(
    file,
    `apiVersion: networking.k8s.io/v1
kind: NetworkPolicy
metadata: {name: who-deny-ingress}
spec: {podSelector: {matchLabels: {app: who}}}
`,
  );
  await kubectl("apply", "-f", file);
  await eventually("node1 → node2 denied", async () => (await fetchFrom("client")) === "", 30_000);
  assert.equal(await fetchFrom(other.metadata.name), "", "node3 → node2 denied");

  await kubectl("label", "pod", "client", "role=client");
  writeFileSync(
    file,
    `apiVersion: networking.k8s.io/v1
kind: NetworkPolicy
metadata: {name: who-from-clients}
spec:
  podSelector: {matchLabels: {app: who}}
  ingress:
  - from: [{podSelector: {matchLabels: {role: client}}}]
    ports: [{port: 8080}]
`,
  );
  await kubectl("apply", "-f", file);
  const allowed = await eventually(
    "node1's client → node2 allowed",
    async () => (await fetchFrom("client")) || false,
    30_000,
  );
  assert.equal(allowed, `${target.metadata.name} ${client.status.podIP}`);
  assert.equal(await fetchFrom(other.metadata.name), "", "an unlabelled pod on node3 still denied");
  assert.match(await kubectl("get", "netpol"), /who-from-clients\s+app=who\s+/);

  await kubectl("delete", "netpol", "who-deny-ingress", "who-from-clients");
  await eventually(
    "node3 → node2 allowed again",
    async () => (await fetchFrom(other.metadata.name)) !== "",
    30_000,
  );
});

test("a ClusterIP from a pod on one node balances over pods on every node", async () => {
  const pods = await servingWhoPods();
  const nodeOf = new Map(pods.map((p) => [p.metadata.name, p.spec.nodeName]));
  const ip = await clusterIP("who");
  const seen = new Set<string | undefined>();
  for (let i = 0; i < 40 && seen.size < 3; i++) {
    const [name] = (await fromClient(`http://${ip}/cgi-bin/who`)).split(" ");
    seen.add(nodeOf.get(name!));
  }
  assert.deepEqual([...seen].sort(), nodes);
});

async function clusterIP(svc: string): Promise<string> {
  return (await kubectl("get", "svc", svc, "-o", "jsonpath={.spec.clusterIP}")).trim();
}

test("a NodePort answers on every node's IP", async () => {
  const names = new Set((await whoPods()).map((p) => p.metadata.name));
  for (const n of [1, 2, 3]) {
    const body = await eventually(
      `NodePort on ${nodeIP(n)}`,
      () => httpGet(nodeIP(n), 30080, "/cgi-bin/who"),
      20_000,
    );
    assert.ok(
      names.has(body.split(" ")[0]!),
      `${nodeIP(n)}:30080 answered from a who pod: ${body}`,
    );
  }
});

test("an image built on the host and loaded into the nodes runs", async () => {
  const image = `skiff.local/e2e-loaded:${process.pid}`;
  const dir = mkdtempSync(join(state, "image-"));
  writeFileSync(
    join(dir, "Dockerfile"),
    `FROM skiff.local/busybox:1.36\nRUN echo built-on-the-host-${process.pid} >/message\n`,
  );
  const built = await run("docker", ["build", "-q", "-t", image, dir], env);
  assert.equal(built.code, 0, built.err);
  try {
    const loaded = await run("bash", [join(root, "scripts/load-image.sh"), image, project], env);
    assert.equal(loaded.code, 0, loaded.err + loaded.out);
    assert.equal(loaded.out.match(/==> node\d: /g)?.length, 3, loaded.out);
    await kubectl(
      "run",
      "loaded",
      `--image=${image}`,
      "--image-pull-policy=Never",
      "--restart=Never",
      "--overrides",
      JSON.stringify({ spec: { nodeName: "node2" } }),
      "--",
      "cat",
      "/message",
    );
    await eventually(
      "the loaded image's pod Succeeded",
      async () => (await json<Pod>("get", "pod", "loaded")).status.phase === "Succeeded",
      60_000,
    );
    assert.equal((await kubectl("logs", "loaded")).trim(), `built-on-the-host-${process.pid}`);
  } finally {
    await run("docker", ["rmi", "-f", image], env);
  }
});

test("cluster DNS: the add-on the compose cluster installs answers a pod on another node", async () => {
  await eventually(
    "the DNS add-on available",
    async () =>
      (await kubectl(
        "-n",
        "kube-system",
        "get",
        "deploy",
        "skiff-dns",
        "-o",
        "jsonpath={.status.availableReplicas}",
      )) === "2",
    180_000,
  );
  const loaded = await run(
    "bash",
    [join(root, "scripts/load-image.sh"), "skiff.local/dnsutils:1", project],
    env,
  );
  assert.equal(loaded.code, 0, loaded.err + loaded.out);
  await checkClusterDNS(kubectl, "dns-e2e", "node2");
});

test("NetworkPolicy: default-deny egress stops cluster DNS too, until an egress rule allows it", async () => {
  // `client` (node1) carries role=client since the NetworkPolicy test above.
  const lookup = async () => {
    const r = await run(
      "kubectl",
      [
        `--cache-dir=${join(state, "kubectl-cache")}`,
        "exec",
        "client",
        "--",
        "timeout",
        "5",
        "nslookup",
        "kubernetes.default.svc.cluster.local",
      ],
      env,
    );
    return r.code === 0 ? r.out : "";
  };
  const kubernetesIP = await clusterIP("kubernetes");
  assert.match(await lookup(), new RegExp(kubernetesIP.replace(/\./g, "\\.")));
  const file = join(state, "netpol-egress.yaml");
  writeFileSync(
    file,
    `apiVersion: networking.k8s.io/v1
kind: NetworkPolicy
metadata: {name: clients-deny-egress}
spec:
  podSelector: {matchLabels: {role: client}}
  policyTypes: [Egress]
`,
  );
  await kubectl("apply", "-f", file);
  await eventually("DNS denied", async () => (await lookup()) === "", 30_000);
  writeFileSync(
    file,
    `apiVersion: networking.k8s.io/v1
kind: NetworkPolicy
metadata: {name: clients-allow-dns}
spec:
  podSelector: {matchLabels: {role: client}}
  policyTypes: [Egress]
  egress:
  - to:
    - namespaceSelector: {matchLabels: {kubernetes.io/metadata.name: kube-system}}
      podSelector: {matchLabels: {k8s-app: kube-dns}}
    ports: [{protocol: UDP, port: 53}, {protocol: TCP, port: 53}]
`,
  );
  await kubectl("apply", "-f", file);
  const answer = await eventually("DNS allowed again", lookup, 30_000);
  assert.match(answer, new RegExp(kubernetesIP.replace(/\./g, "\\.")));
  await kubectl("delete", "netpol", "clients-deny-egress", "clients-allow-dns");
});

test("a stopped node goes NotReady, its pods are recreated elsewhere and the Service follows; started again, it rejoins", async () => {
  const node3 = await containerOf("node3");
  const stopped = await run("docker", ["stop", "-t", "5", node3], env);
  assert.equal(stopped.code, 0, stopped.err);
  await eventually(
    "node3 NotReady",
    async () => (await nodeStates()).get("node3") === false,
    90_000,
  );
  // Replacements on node1 and node2 become ready; the lost node's pods are not served.
  await eventually(
    "six who pods serving on node1 and node2",
    async () => {
      const serving = await servingWhoPods();
      return serving.length === 6 && serving.every((p) => p.spec.nodeName !== "node3");
    },
    90_000,
  );
  const ip = await clusterIP("who");
  const servingNames = new Set((await servingWhoPods()).map((p) => p.metadata.name));
  for (let i = 0; i < 12; i++) {
    const [name] = (
      await eventually(
        "the ClusterIP answering",
        () => fromClient(`http://${ip}/cgi-bin/who`),
        20_000,
      )
    ).split(" ");
    assert.ok(servingNames.has(name!), `answered by ${name}, a pod on a live node`);
  }

  const started = await run("docker", ["start", node3], env);
  assert.equal(started.code, 0, started.err);
  await eventually(
    "node3 Ready again",
    async () => (await nodeStates()).get("node3") === true,
    90_000,
  );
  // The kubelet back on node3 finishes the deletion of the pods that were evicted from it.
  await eventually(
    "no who pod left on node3",
    async () => (await whoPods()).every((p) => p.spec.nodeName !== "node3"),
    60_000,
  );
});

test("the whole cluster restarted (compose restart) comes back with its workloads", async () => {
  await dc("restart");
  await eventually("three nodes Ready after the restart", allNodesReady, 180_000);
  await kubectl("rollout", "status", "deploy/who", "--timeout=120s");
  await eventually(
    "the client pod Running again",
    async () => ready(await json<Pod>("get", "pod", "client")),
    90_000,
  );
  const ip = await clusterIP("who");
  await eventually(
    "the ClusterIP answering from the client",
    () => fromClient(`http://${ip}/cgi-bin/who`),
    60_000,
  );
  for (const n of [1, 2, 3]) {
    await eventually(
      `NodePort on ${nodeIP(n)} after the restart`,
      () => httpGet(nodeIP(n), 30080, "/cgi-bin/who"),
      60_000,
    );
  }
});

test("the host-gw backend also carries pod traffic across nodes", async () => {
  // The nodes recreated with the other backend (their engines' volumes, so images, stay).
  env = { ...env, SKIFF_NET_BACKEND: "host-gw" };
  await dc("up", "-d", ...nodes);
  await eventually(
    "every node on host-gw and Ready",
    async () => {
      const list = await json<{ items: NodeObj[] }>("get", "nodes");
      return list.items.every(
        (n) => ready(n) && n.metadata.annotations?.["net.skiff.io/backend-type"] === "host-gw",
      );
    },
    180_000,
  );
  await kubectl("rollout", "status", "deploy/who", "--timeout=120s");
  await eventually(
    "the client pod Running",
    async () => ready(await json<Pod>("get", "pod", "client")),
    90_000,
  );
  const client = await json<Pod>("get", "pod", "client");
  // Recreated node containers restart every pod: wait for servers off node1 (after the node
  // stop above, the Deployment's pods may all be on node1 and node2).
  const elsewhere = await eventually(
    "who pods serving on a node other than node1",
    async () => {
      const pods = (await servingWhoPods()).filter((p) => p.spec.nodeName !== "node1");
      return pods.length > 0 && pods;
    },
    120_000,
  );
  for (const p of elsewhere) {
    const answer = await eventually(
      `${p.metadata.name} by pod IP`,
      () => fromClient(`http://${p.status.podIP}:8080/cgi-bin/who`),
      30_000,
    );
    // The server sees the client's own pod IP (no masquerade between pods). The client pod was
    // restarted with its node: read its address now, in case the status read above was the
    // old sandbox's (the recreated kubelet reports the new one within a sync or two).
    const ip = await eventually(
      "the client pod's status showing the address the server saw",
      async () => {
        const now = (await json<Pod>("get", "pod", "client")).status.podIP;
        return answer === `${p.metadata.name} ${now}` && now;
      },
      30_000,
    ).catch(() => client.status.podIP);
    assert.equal(answer, `${p.metadata.name} ${ip}`);
  }
});

test("compose down -v leaves no container, network or volume", async () => {
  await dc("down", "-v", "--remove-orphans", "-t", "5");
  const label = `label=com.docker.compose.project=${project}`;
  for (const kind of [
    ["ps", "-aq"],
    ["network", "ls", "-q"],
    ["volume", "ls", "-q"],
  ]) {
    const r = await run("docker", [...kind, "--filter", label], env);
    assert.equal(r.out.trim(), "", `docker ${kind.join(" ")} still lists ${r.out}`);
  }
});
