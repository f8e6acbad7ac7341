// `make deploy` end to end on three stand-in VMs (`make vms`: containers with systemd and sshd,
// since no hypervisor runs here), driven with the real kubectl: an HA cluster comes up, serves
// a Deployment and a Service across the VMs, survives the loss of one VM (API, writes, leaders,
// pods, Service traffic), takes it back, a second deploy changes nothing, a new build rolls out
// one VM at a time with the API answering throughout, and a failed step names VM, step and
// output. Its VMs have their own names, network and state, so it leaves any other `make vms`
// alone.
import { test, before, after } from "node:test";
import assert from "node:assert/strict";
import { execFile } from "node:child_process";
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { request as httpsRequest } from "node:https";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { checkClusterDNS } from "../dns-checks.js";
import { eventually, run, type Ran } from "../lib.js";

const root = new URL("../../", import.meta.url).pathname;
const state = mkdtempSync(join(tmpdir(), "skiff-deploy-e2e-"));
const network = "skiff-vms-e2e";
const prefix = "172.30.214";
const addr = (i: number) => `${prefix}.${10 + i}`;
const env: NodeJS.ProcessEnv = {
  ...process.env,
  SKIFF_VMS_STATE: join(state, "vms"),
  SKIFF_VMS_PREFIX: prefix,
  SKIFF_VMS_NETWORK: network,
  SKIFF_VMS_NAME: "skiff-vme",
  SKIFF_DEPLOY_STATE: join(state, "deploy"),
};
const inventory = join(state, "vms", "inventory.yaml");
const kubeconfig = join(state, "deploy", "kubeconfig");

/** A long-running program (deploy, the VMs): up to 10 minutes. */
function long(cmd: string, args: string[]): Promise<Ran> {
  return new Promise((resolve) => {
    execFile(cmd, args, { env, timeout: 600_000, maxBuffer: 16 << 20 }, (err, out, errOut) =>
      resolve({
        code: err ? Number((err as { code?: number }).code ?? 1) || 1 : 0,
        out,
        err: errOut,
      }),
    );
  });
}

/** kubectl through VM `via` (1-3): the user's kubeconfig with that VM's address. */
async function kubectl(via: number, ...args: string[]): Promise<string> {
  const r = await run(
    "kubectl",
    [
      `--kubeconfig=${kubeconfig}`,
      `--server=https://${addr(via)}:6443`,
      `--cache-dir=${join(state, "kubectl-cache")}`,
      "--request-timeout=10s",
      ...args,
    ],
    env,
  );
  assert.equal(r.code, 0, `kubectl ${args.join(" ")}: ${r.err}${r.out}`);
  return r.out;
}

/** A shell command as root on VM i over SSH, as deploy reaches it. */
async function onVM(i: number, command: string): Promise<string> {
  const r = await run(
    "ssh",
    [
      "-i",
      join(state, "vms", "id_ed25519"),
      "-o",
      "BatchMode=yes",
      "-o",
      `UserKnownHostsFile=${join(state, "deploy", "known_hosts")}`,
      "-o",
      "ConnectTimeout=10",
      `root@${addr(i)}`,
      command,
    ],
    env,
  );
  assert.equal(r.code, 0, `vm${i}: ${command}: ${r.err}${r.out}`);
  return r.out;
}

const etcdctl = (i: number, args: string) =>
  onVM(
    i,
    `ETCDCTL_API=3 etcdctl --endpoints=${[1, 2, 3].map((j) => `https://${addr(j)}:2379`).join(",")} ` +
      "--cacert=/etc/skiff/certs/etcd-ca.crt --cert=/etc/skiff/certs/etcd-client.crt " +
      `--key=/etc/skiff/certs/etcd-client.key ${args}`,
  );

async function nodes(via: number): Promise<Record<string, string>> {
  const out = await kubectl(
    via,
    "get",
    "nodes",
    "-o",
    'jsonpath={range .items[*]}{.metadata.name}={.status.conditions[?(@.type=="Ready")].status} {end}',
  );
  return nameValues(out);
}

/** `a=x b=y ` (a jsonpath range of name=value pairs) → { a: "x", b: "y" }. */
function nameValues(out: string): Record<string, string> {
  return Object.fromEntries(
    out
      .trim()
      .split(/\s+/)
      .filter(Boolean)
      .map((s) => s.split("=")),
  );
}

async function leaders(via: number): Promise<Record<string, string>> {
  const out = await kubectl(
    via,
    "get",
    "leases",
    "-n",
    "kube-system",
    "-o",
    "jsonpath={range .items[*]}{.metadata.name}={.spec.holderIdentity} {end}",
  );
  return nameValues(out);
}

/** The web pods: name → node, of those Running and Ready (not terminating). */
async function webPods(via: number): Promise<Record<string, string>> {
  const pods = JSON.parse(await kubectl(via, "get", "pods", "-n", "deploy-e2e", "-o", "json"))
    .items as {
    metadata: { name: string; deletionTimestamp?: string };
    spec: { nodeName?: string };
    status: { conditions?: { type: string; status: string }[] };
  }[];
  return Object.fromEntries(
    pods
      .filter(
        (p) =>
          !p.metadata.deletionTimestamp &&
          p.status.conditions?.some((c) => c.type === "Ready" && c.status === "True"),
      )
      .map((p) => [p.metadata.name, p.spec.nodeName ?? ""]),
  );
}

/** Which pods answer the Service's ClusterIP from VM i (each httpd serves its hostname). */
async function serviceAnswers(i: number, ip: string, tries: number): Promise<string[]> {
  const out = await onVM(
    i,
    `for n in $(seq ${tries}); do curl -s --max-time 2 http://${ip}/ || echo FAILED; done`,
  );
  return out.trim().split("\n");
}

const manifest = `
apiVersion: v1
kind: Namespace
metadata: {name: deploy-e2e}
---
apiVersion: apps/v1
kind: Deployment
metadata: {name: web, namespace: deploy-e2e}
spec:
  replicas: 3
  selector: {matchLabels: {app: web}}
  template:
    metadata: {labels: {app: web}}
    spec:
      terminationGracePeriodSeconds: 2
      # Moved off a lost node after 10 s instead of the default 300 s.
      tolerations:
      - {key: node.kubernetes.io/unreachable, operator: Exists, effect: NoExecute, tolerationSeconds: 10}
      - {key: node.kubernetes.io/not-ready, operator: Exists, effect: NoExecute, tolerationSeconds: 10}
      containers:
      - name: web
        image: skiff.local/busybox:1.36
        command: ["sh", "-c", "mkdir -p /www && hostname > /www/index.html && exec httpd -f -p 8080 -h /www"]
        ports: [{containerPort: 8080}]
        readinessProbe: {httpGet: {path: /, port: 8080}, periodSeconds: 1}
---
apiVersion: v1
kind: Service
metadata: {name: web, namespace: deploy-e2e}
spec:
  selector: {app: web}
  ports: [{port: 80, targetPort: 8080}]
`;

before(async () => {
  const vms = await long("bash", [join(root, "scripts/vms.sh"), "up"]);
  assert.equal(vms.code, 0, `make vms failed:\n${vms.out}\n${vms.err}`);
});

after(async () => {
  const down = await long("bash", [join(root, "scripts/vms.sh"), "down"]);
  if (down.code !== 0) console.log(down.out, down.err);
  const left = await run("docker", ["ps", "-aq", "--filter", `label=io.skiff.vms=${network}`], env);
  if (left.out.trim()) console.log(`VMs left behind: ${left.out}`);
  rmSync(state, { recursive: true, force: true });
});

test("make deploy: three fresh VMs become one cluster, 3 nodes Ready, etcd with 3 members", async () => {
  const started = Date.now();
  const r = await long("bash", [join(root, "scripts/deploy.sh"), inventory]);
  const seconds = (Date.now() - started) / 1000;
  assert.equal(r.code, 0, `deploy failed:\n${r.out}\n${r.err}`);
  console.log(`# deployed to three fresh VMs in ${seconds.toFixed(1)} s`);
  // Step by step, per VM.
  for (const vm of ["vm1", "vm2", "vm3"])
    for (const step of ["packages", "node", "release", "certs", "units", "image"])
      assert.match(r.out, new RegExp(`^\\[${vm}\\] ${step}: changed`, "m"), r.out);
  assert.deepEqual(await nodes(1), { vm1: "True", vm2: "True", vm3: "True" });
  const members = (await etcdctl(1, "member list")).trim().split("\n");
  assert.equal(members.length, 3, members.join("\n"));
  for (const m of members)
    assert.match(m, /, started, vm[123], https:\/\/172\.30\.214\.1[123]:2380,/);
  for (const unit of [
    "skiff-etcd",
    "skiff-apiserver",
    "skiff-lb",
    "skiff-controller-manager",
    "skiff-scheduler",
    "skiff-kubelet",
    "skiff-proxy",
    "skiff-net",
  ]) {
    assert.match(await onVM(2, `systemctl show -p Restart --value ${unit}`), /^always$/m);
  }
  // The apiserver reaches etcd only over TLS: no member answers without a client certificate.
  const plain = await run(
    "ssh",
    [
      "-i",
      join(state, "vms", "id_ed25519"),
      "-o",
      "BatchMode=yes",
      "-o",
      `UserKnownHostsFile=${join(state, "deploy", "known_hosts")}`,
      `root@${addr(1)}`,
      "curl -sS --max-time 3 http://127.0.0.1:2379/health || curl -sS --max-time 3 -k https://127.0.0.1:2379/v3/kv/range -d '{}'",
    ],
    env,
  );
  assert.doesNotMatch(plain.out, /"health":"true"|"kvs"|"header"/, plain.out);
  // Every apiserver stands behind the kubernetes Service (each keeps its master lease).
  const ips = (
    await kubectl(
      1,
      "get",
      "endpoints",
      "kubernetes",
      "-o",
      "jsonpath={.subsets[0].addresses[*].ip}",
    )
  )
    .trim()
    .split(" ")
    .sort();
  assert.deepEqual(ips, [addr(1), addr(2), addr(3)]);
});

let clusterIP = "";

test("a Deployment and a Service work across the VMs", async () => {
  const r = await run("kubectl", [`--kubeconfig=${kubeconfig}`, "apply", "-f", "-"], env, manifest);
  assert.equal(r.code, 0, r.err);
  const pods = await eventually(
    "3 web pods Ready",
    async () => {
      const p = await webPods(1);
      return Object.keys(p).length === 3 ? p : undefined;
    },
    180_000,
  );
  assert.ok(new Set(Object.values(pods)).size >= 2, `pods all on one VM: ${JSON.stringify(pods)}`);
  clusterIP = (
    await kubectl(1, "get", "svc", "web", "-n", "deploy-e2e", "-o", "jsonpath={.spec.clusterIP}")
  ).trim();
  // From every VM, the ClusterIP reaches pods on other VMs too.
  for (const vm of [1, 2, 3]) {
    const seen = await eventually(
      `service answers from vm${vm}`,
      async () => {
        const answers = await serviceAnswers(vm, clusterIP, 12);
        const hit = new Set(answers.filter((a) => a in pods));
        return !answers.includes("FAILED") && hit.size >= 2 ? hit : undefined;
      },
      60_000,
    );
    assert.ok(
      [...seen].some((p) => pods[p] !== `vm${vm}`),
      `vm${vm} reached only its own pods`,
    );
  }
});

test("cluster DNS (the add-on make deploy installs) answers pods by name", async () => {
  // The dig image is loaded into vm2's engine as deploy loads the Skiff image.
  const loaded = await run(
    "bash",
    [
      "-o",
      "pipefail",
      "-c",
      `docker save skiff.local/dnsutils:1 | ssh -i ${join(state, "vms", "id_ed25519")} -o BatchMode=yes ` +
        `-o UserKnownHostsFile=${join(state, "deploy", "known_hosts")} root@${addr(2)} docker load`,
    ],
    env,
  );
  assert.equal(loaded.code, 0, loaded.err);
  await checkClusterDNS((...args) => kubectl(1, ...args), "dns-e2e", "vm2");
});

test("one VM stopped: the API answers and takes writes, leaders move, its pods come back elsewhere, traffic follows; it rejoins", async () => {
  // The VM that leads the scheduler goes (the kubeconfig's own VM when that is vm1).
  const before = await leaders(1);
  const lost = Number(/^vm([123])_/.exec(before["kube-scheduler"] ?? "")?.[1]);
  assert.ok(lost >= 1, `no scheduler leader: ${JSON.stringify(before)}`);
  const via = lost === 3 ? 1 : 3;
  const stopped = await run("docker", ["stop", `skiff-vme${lost}`], env);
  assert.equal(stopped.code, 0, stopped.err);

  await kubectl(via, "get", "--raw", "/readyz");
  await kubectl(
    via,
    "create",
    "configmap",
    "written-meanwhile",
    "-n",
    "deploy-e2e",
    "--from-literal=k=v",
  );
  const moved = await eventually(
    "both leaders moved",
    async () => {
      const l = await leaders(via);
      return ["kube-scheduler", "kube-controller-manager"].every(
        (n) => l[n] && !l[n].startsWith(`vm${lost}_`),
      )
        ? l
        : undefined;
    },
    120_000,
  );
  assert.notEqual(moved["kube-scheduler"], before["kube-scheduler"]);
  await eventually(
    `vm${lost} NotReady`,
    async () => (await nodes(via))[`vm${lost}`] !== "True",
    120_000,
  );
  const pods = await eventually(
    "3 web pods Ready on the other VMs",
    async () => {
      const p = await webPods(via);
      return Object.keys(p).length === 3 && Object.values(p).every((n) => n !== `vm${lost}`)
        ? p
        : undefined;
    },
    240_000,
  );
  // Service traffic only reaches pods that run.
  await eventually(
    "service traffic follows",
    async () => {
      const answers = await serviceAnswers(via, clusterIP, 12);
      return answers.every((a) => a in pods) && new Set(answers).size >= 2;
    },
    90_000,
  );

  // Back: the node is Ready again, etcd has 3 healthy members, and nothing written meanwhile is lost.
  const started = await run("docker", ["start", `skiff-vme${lost}`], env);
  assert.equal(started.code, 0, started.err);
  await eventually(
    `vm${lost} Ready again`,
    async () => {
      const n = await nodes(via);
      return n[`vm${lost}`] === "True";
    },
    180_000,
  );
  await eventually(
    "etcd: 3 healthy members",
    async () => (await etcdctl(via, "endpoint health 2>&1")).match(/is healthy/g)?.length === 3,
    120_000,
  );
  await eventually(
    `vm${lost}'s apiserver answers`,
    async () =>
      (await kubectl(
        lost,
        "get",
        "configmap",
        "written-meanwhile",
        "-n",
        "deploy-e2e",
        "-o",
        "jsonpath={.data.k}",
      )) === "v",
    120_000,
  );
});

test("a second make deploy reports no change", async () => {
  const r = await long("bash", [join(root, "scripts/deploy.sh"), inventory]);
  assert.equal(r.code, 0, `${r.out}\n${r.err}`);
  assert.match(r.out, /no change: 3 machines already up to date/, r.out);
  assert.doesNotMatch(r.out, /\] \w+: changed/);
});

test("a new build is rolled out one VM at a time while the API keeps answering", async () => {
  // A new build: one more file in a package's dist/ (removed again afterwards).
  const marker = join(root, "packages/net/dist/deploy-e2e-build.txt");
  writeFileSync(marker, `build ${Date.now()}\n`);
  const certs = join(state, "deploy", "certs");
  const tls = {
    ca: readFileSync(join(certs, "ca.crt")),
    cert: readFileSync(join(certs, "admin.crt")),
    key: readFileSync(join(certs, "admin.key")),
  };
  const answers = (i: number) =>
    new Promise<boolean>((resolve) => {
      const req = httpsRequest(
        { host: addr(i), port: 6443, path: "/readyz", timeout: 1000, ...tls },
        (res) => {
          res.resume();
          resolve(res.statusCode === 200);
        },
      );
      req.on("timeout", () => req.destroy());
      req.on("error", () => resolve(false));
      req.end();
    });
  const samples: number[] = [];
  let polling = true;
  const poller = (async () => {
    while (polling) {
      const up = await Promise.all([1, 2, 3].map(answers));
      samples.push(up.filter(Boolean).length);
      await new Promise((r) => setTimeout(r, 500));
    }
  })();
  try {
    const r = await long("bash", [join(root, "scripts/deploy.sh"), inventory]);
    assert.equal(r.code, 0, `${r.out}\n${r.err}`);
    // Each VM gets the release, then they restart in turn, each waited for.
    for (const vm of ["vm1", "vm2", "vm3"])
      assert.match(r.out, new RegExp(`^\\[${vm}\\] release: changed`, "m"));
    const order = [...r.out.matchAll(/^\[(vm\d)\] (units: changed|apiserver answers again)/gm)].map(
      (m) => `${m[1]} ${m[2]!.split(":")[0]}`,
    );
    assert.deepEqual(order, [
      "vm1 units",
      "vm1 apiserver answers again",
      "vm2 units",
      "vm2 apiserver answers again",
      "vm3 units",
      "vm3 apiserver answers again",
    ]);
  } finally {
    polling = false;
    await poller;
    rmSync(marker, { force: true });
  }
  assert.ok(samples.length >= 10, `only ${samples.length} samples`);
  assert.ok(
    samples.every((n) => n >= 2),
    `fewer than 2 apiservers answered at some moment: ${samples.join(" ")}`,
  );
  assert.deepEqual(await nodes(1), { vm1: "True", vm2: "True", vm3: "True" });
});

test("a failure names the VM, the step and the output", async () => {
  // vm2 lacks a package again, and its apt's only mirror answers nothing.
  await onVM(
    2,
    "dpkg -r busybox-static >/dev/null && mv /etc/apt/sources.list /root/sources.list.saved && " +
      "echo 'deb http://127.0.0.1:9/debian bookworm main' > /etc/apt/sources.list",
  );
  const r = await long("bash", [join(root, "scripts/deploy.sh"), inventory]);
  assert.notEqual(r.code, 0);
  assert.match(r.err, /^\[vm2\] packages FAILED:$/m, r.err);
  assert.match(r.err, /127\.0\.0\.1:9/, r.err);
  // The others keep running.
  assert.equal((await nodes(1)).vm1, "True");
});
