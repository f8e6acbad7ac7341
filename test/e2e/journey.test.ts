// End to end: a cluster started the way `make up` starts it (scripts/cluster.sh: etcd and
// every component as its own process, real Docker and iptables), driven with the real
// kubectl and with skiffctl as a user would. Runs alone (after the package suites), since it
// owns the node's pods and the host's KUBE-* chains while it runs.
import { test, before, after } from "node:test";
import assert from "node:assert/strict";
import { execFileSync } from "node:child_process";
import { mkdtempSync, readFileSync, realpathSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { freePort } from "@skiff/testing";
import { checkClusterDNS } from "../dns-checks.js";
import { eventually, httpGet, run } from "../lib.js";
import { checkApi131 } from "./api-1-31.js";
import { checkWorkloads } from "./workloads.js";

const root = new URL("../../", import.meta.url).pathname;
const state = mkdtempSync(join(tmpdir(), "skiff-e2e-"));
const kubeconfig = join(state, "kubeconfig");
let env: NodeJS.ProcessEnv;

function sh(cmd: string, args: string[], input?: string) {
  return run(cmd, args, env, input);
}

async function kubectl(...args: string[]): Promise<string> {
  const r = await sh("kubectl", [`--cache-dir=${join(state, "kubectl-cache")}`, ...args]);
  assert.equal(r.code, 0, `kubectl ${args.join(" ")}: ${r.err}${r.out}`);
  return r.out;
}

async function skiffctl(...args: string[]): Promise<string> {
  const r = await sh("node", [join(root, "packages/skiffctl/bin/skiffctl.js"), ...args]);
  assert.equal(r.code, 0, `skiffctl ${args.join(" ")}: ${r.err}${r.out}`);
  return r.out;
}

const manifest = (image: string, replicas: number) => `
apiVersion: v1
kind: Namespace
metadata: {name: journey}
---
apiVersion: apps/v1
kind: Deployment
metadata: {name: web, namespace: journey}
spec:
  replicas: ${replicas}
  selector: {matchLabels: {app: web}}
  template:
    metadata: {labels: {app: web}}
    spec:
      terminationGracePeriodSeconds: 2
      containers:
      - name: web
        image: ${image}
        command: ["sh", "-c", "mkdir -p /www && hostname > /www/index.html && exec httpd -f -p 8080 -h /www"]
        ports: [{containerPort: 8080}]
        readinessProbe: {httpGet: {path: /, port: 8080}, periodSeconds: 1}
---
apiVersion: v1
kind: Service
metadata: {name: web, namespace: journey}
spec:
  selector: {app: web}
  ports: [{port: 80, targetPort: 8080}]
`;

before(async () => {
  const apiPort = await freePort();
  const etcdPort = await freePort();
  env = {
    ...process.env,
    SKIFF_STATE: state,
    SKIFF_API_PORT: String(apiPort),
    SKIFF_ETCD_PORT: String(etcdPort),
    KUBECONFIG: kubeconfig,
  };
  const started = Date.now();
  const up = await sh("bash", [join(root, "scripts/cluster.sh"), "up"]);
  assert.equal(up.code, 0, `cluster up failed:\n${up.out}\n${up.err}`);
  assert.match(up.out, /Ready/);
  console.log(`# cluster up and node Ready in ${((Date.now() - started) / 1000).toFixed(1)} s`);
});

after(async () => {
  const down = await sh("bash", [join(root, "scripts/cluster.sh"), "down"]);
  if (down.code !== 0) console.log(down.out, down.err);
  rmSync(state, { recursive: true, force: true });
});

test("the whole journey: deploy, serve, scale, roll, heal, refuse, and clean up", async () => {
  // A Deployment of 3 replicas serving HTTP and a Service; rollout status completes.
  const applied = await sh(
    "kubectl",
    [`--cache-dir=${join(state, "kubectl-cache")}`, "apply", "-f", "-"],
    manifest("skiff.local/busybox:1.36", 3),
  );
  assert.equal(applied.code, 0, applied.err);
  assert.match(applied.out, /deployment\.apps\/web created/);
  await kubectl("rollout", "status", "deploy/web", "-n", "journey", "--timeout=90s");

  // Requests to the ClusterIP from the host reach all 3 pods.
  const ip = (
    await kubectl("get", "svc", "web", "-n", "journey", "-o", "jsonpath={.spec.clusterIP}")
  ).trim();
  const pods = (
    await kubectl(
      "get",
      "pods",
      "-n",
      "journey",
      "-l",
      "app=web",
      "-o",
      "jsonpath={.items[*].metadata.name}",
    )
  )
    .trim()
    .split(" ");
  assert.equal(pods.length, 3);
  const seen = new Set<string>();
  await eventually("every pod answering through the ClusterIP", async () => {
    for (let i = 0; i < 20; i++) seen.add(await httpGet(ip, 80, "/"));
    return pods.every((p) => seen.has(p));
  });

  // Scale to 5 and back to 2 (skiffctl for one of them).
  await kubectl("scale", "deploy/web", "-n", "journey", "--replicas=5");
  await kubectl("rollout", "status", "deploy/web", "-n", "journey", "--timeout=90s");
  await skiffctl("scale", "deploy/web", "-n", "journey", "--replicas=2");
  await eventually("2 running pods", async () => {
    const out = await skiffctl("get", "pods", "-n", "journey", "-l", "app=web", "-o", "name");
    return out.trim().split("\n").filter(Boolean).length === 2;
  });

  // Change the image tag: a rolling update that rollout status sees through; then undo it.
  const templateImage = async () =>
    (
      await kubectl(
        "get",
        "deploy/web",
        "-n",
        "journey",
        "-o",
        "jsonpath={.spec.template.spec.containers[0].image}",
      )
    ).trim();
  await kubectl("set", "image", "deploy/web", "-n", "journey", "web=skiff.local/busybox:1.36.1");
  await kubectl("rollout", "status", "deploy/web", "-n", "journey", "--timeout=90s");
  assert.equal(await templateImage(), "skiff.local/busybox:1.36.1");
  await kubectl("rollout", "undo", "deploy/web", "-n", "journey");
  await kubectl("rollout", "status", "deploy/web", "-n", "journey", "--timeout=90s");
  assert.equal(await templateImage(), "skiff.local/busybox:1.36");

  // `docker kill` one container: it restarts and its restartCount rises.
  const running = async () =>
    JSON.parse(
      await kubectl(
        "get",
        "pods",
        "-n",
        "journey",
        "-l",
        "app=web",
        "--field-selector=status.phase=Running",
        "-o",
        "json",
      ),
    ).items.filter(
      (p: { metadata: { deletionTimestamp?: string } }) => !p.metadata.deletionTimestamp,
    );
  const victim = (await eventually("a running pod", async () => (await running())[0]))!;
  const cid = String(victim.status.containerStatuses[0].containerID).replace("docker://", "");
  execFileSync("docker", ["kill", cid]);
  await eventually("restartCount to rise", async () => {
    const p = JSON.parse(
      await kubectl("get", "pod", victim.metadata.name, "-n", "journey", "-o", "json"),
    );
    return p.status.containerStatuses[0].restartCount >= 1 && p.status.containerStatuses[0].ready;
  });

  // Delete a pod: a new one replaces it.
  await kubectl("delete", "pod", victim.metadata.name, "-n", "journey", "--wait=false");
  await eventually("a replacement pod", async () => {
    const now = await running();
    return (
      now.length === 2 &&
      !now.some((p: { metadata: { name: string } }) => p.metadata.name === victim.metadata.name)
    );
  });

  // logs and exec, with kubectl and skiffctl.
  const one = (await running())[0].metadata.name as string;
  const out = await kubectl("exec", one, "-n", "journey", "--", "cat", "/www/index.html");
  assert.equal(out.trim(), one);
  assert.equal((await skiffctl("exec", one, "-n", "journey", "--", "hostname")).trim(), one);
  const failing = await sh("kubectl", [
    `--cache-dir=${join(state, "kubectl-cache")}`,
    "exec",
    one,
    "-n",
    "journey",
    "--",
    "sh",
    "-c",
    "exit 3",
  ]);
  assert.equal(failing.code, 3);
  await kubectl("exec", one, "-n", "journey", "--", "sh", "-c", "echo hello-log > /proc/1/fd/1");
  await eventually("the line in kubectl logs", async () =>
    (await kubectl("logs", one, "-n", "journey")).includes("hello-log"),
  );
  assert.match(await skiffctl("logs", one, "-n", "journey"), /hello-log/);

  // A pod that cannot fit stays Pending with a FailedScheduling event.
  await kubectl(
    "run",
    "too-big",
    "-n",
    "journey",
    "--image=skiff.local/busybox:1.36",
    "--restart=Never",
    '--overrides={"spec":{"containers":[{"name":"too-big","image":"skiff.local/busybox:1.36","command":["sleep","3600"],"resources":{"requests":{"cpu":"512"}}}]}}',
  );
  await eventually("FailedScheduling", async () => {
    const ev = await kubectl(
      "get",
      "events",
      "-n",
      "journey",
      "--field-selector=involvedObject.name=too-big,reason=FailedScheduling",
      "-o",
      "name",
    );
    return ev.trim().length > 0;
  });
  assert.equal(
    (
      await kubectl("get", "pod", "too-big", "-n", "journey", "-o", "jsonpath={.status.phase}")
    ).trim(),
    "Pending",
  );
  assert.match(await kubectl("describe", "pod", "too-big", "-n", "journey"), /Insufficient cpu/);

  // Delete the namespace: every pod, container and rule of it goes.
  const svcChain = (await sh("iptables-save", ["-t", "nat"])).out
    .split("\n")
    .filter((l) => l.includes(`journey/web`));
  assert.ok(svcChain.length > 0, "the service has rules while it exists");
  await kubectl("delete", "namespace", "journey", "--timeout=120s");
  // The pods are gone once their containers have stopped; the kubelet removes the stopped
  // containers after the pods' final delete, so their removal is waited for.
  const left = () =>
    execFileSync("docker", ["ps", "-aq", "--filter", "label=io.skiff.pod.namespace=journey"])
      .toString()
      .trim();
  await eventually("no container of the namespace to be left", async () => left() === "", 30_000);
  await eventually(
    "the service's rules to go",
    async () => {
      const nat = (await sh("iptables-save", ["-t", "nat"])).out;
      return !nat.includes("journey/web");
    },
    20_000,
  );
});

test("cluster DNS: the add-on answers Services, endpoints and pods by name from a pod", async () => {
  await kubectl("-n", "kube-system", "rollout", "status", "deploy/skiff-dns", "--timeout=120s");
  await checkClusterDNS(kubectl, "dns-e2e");
});

test("workloads: StatefulSet with storage, DaemonSet, CronJob, PDB and drain, preemption, quota, LimitRange", async () => {
  await checkWorkloads(kubectl, (args, input) =>
    sh("kubectl", [`--cache-dir=${join(state, "kubectl-cache")}`, ...args], input),
  );
});

test("Kubernetes 1.31's API: an RC scaled, an admission policy, kubectl debug, NetworkPolicy", async () => {
  await checkApi131(kubectl, (args, input) =>
    sh("kubectl", [`--cache-dir=${join(state, "kubectl-cache")}`, ...args], input),
  );
});

test("security on by default: Secrets encrypted in etcd, an audit log, least-privilege components", async () => {
  // Encryption at rest: etcd holds the aescbc envelope with make-certs' generated key, never
  // the value.
  const value = "journey-plaintext-1f3a";
  await kubectl(
    "create",
    "secret",
    "generic",
    "sealed",
    "-n",
    "default",
    `--from-literal=k=${value}`,
  );
  const raw = await sh("etcdctl", [
    `--endpoints=http://127.0.0.1:${env.SKIFF_ETCD_PORT}`,
    "get",
    "/registry/secrets/default/sealed",
    "--print-value-only",
  ]);
  assert.equal(raw.code, 0, raw.err);
  assert.ok(raw.out.startsWith("k8s:enc:aescbc:v1:key1:"), raw.out.slice(0, 40));
  assert.ok(!raw.out.includes(value), "the Secret's value is in etcd in the clear");
  assert.ok(!raw.out.includes(Buffer.from(value).toString("base64")), "base64 value in etcd");
  // The audit log (deploy/audit-policy.yaml: Metadata for Secrets) recorded the create; it is
  // written just after the answer.
  const created = await eventually(
    "the audit event of the Secret's create",
    async () =>
      readFileSync(join(state, "logs", "audit.log"), "utf8")
        .split("\n")
        .filter(Boolean)
        .map((l) => JSON.parse(l) as { verb: string; objectRef?: { name?: string }; level: string })
        .find((e) => e.verb === "create" && e.objectRef?.name === "sealed"),
    5_000,
  );
  assert.equal(created.level, "Metadata");
  // Each component has only its own role: the proxy's identity may not delete a namespace,
  // a kubelet's may not read a Secret its pods do not use; the admin may.
  const canI = async (config: string, ...args: string[]) =>
    (
      await sh("kubectl", [
        `--kubeconfig=${join(state, "certs", config)}`,
        "auth",
        "can-i",
        ...args,
      ])
    ).out.trim();
  assert.equal(await canI("proxy.kubeconfig", "delete", "namespaces"), "no");
  assert.equal(await canI("proxy.kubeconfig", "list", "endpointslices.discovery.k8s.io"), "yes");
  const read = await sh("kubectl", [
    `--kubeconfig=${join(state, "certs", "kubelet.kubeconfig")}`,
    "get",
    "secret",
    "sealed",
    "-n",
    "default",
  ]);
  assert.notEqual(read.code, 0);
  assert.match(read.err, /Forbidden.*cannot get resource "secrets"/);
  assert.equal(await canI("admin.kubeconfig", "delete", "namespaces"), "yes");
  await kubectl("delete", "secret", "sealed", "-n", "default");
});

test("`cluster.sh down` removes this cluster's pod containers and leaves another kubelet's", async () => {
  // A container as another kubelet on this engine (a test run, a second cluster) labels it.
  const foreignAt = Date.now();
  const foreign = execFileSync("docker", [
    "run",
    "-d",
    "--network=none",
    "--label=io.skiff.type=container",
    "--label=io.skiff.pod.uid=foreign-pod",
    "--label=io.skiff.kubelet.root-dir=/nonexistent/other-kubelet",
    "skiff.local/busybox:1.36",
    "sleep",
    "300",
  ])
    .toString()
    .trim();
  try {
    await kubectl("run", "last", "--image=skiff.local/busybox:1.36", "--", "sleep", "300");
    await eventually(
      "pod last to run",
      async () =>
        (await kubectl("get", "pod", "last", "-o", "jsonpath={.status.phase}")).trim() ===
        "Running",
      30_000,
    );
    const ours = () =>
      execFileSync("docker", [
        "ps",
        "-aq",
        "--filter",
        `label=io.skiff.kubelet.root-dir=${realpathSync(state)}/kubelet`,
      ])
        .toString()
        .trim();
    assert.notEqual(ours(), "", "the kubelet labels its containers as its own");
    // Past one periodic relist (10 s): the kubelet would have removed it by now as an orphan.
    await new Promise((r) => setTimeout(r, Math.max(0, foreignAt + 11_000 - Date.now())));
    const down = await sh("bash", [join(root, "scripts/cluster.sh"), "down"]);
    assert.equal(down.code, 0, down.err);
    assert.equal(ours(), "", "none of this cluster's containers is left");
    const still = execFileSync("docker", ["inspect", "-f", "{{.State.Running}}", foreign])
      .toString()
      .trim();
    assert.equal(still, "true", "the other kubelet's container was left alone");
  } finally {
    execFileSync("docker", ["rm", "-f", foreign]);
  }
});
