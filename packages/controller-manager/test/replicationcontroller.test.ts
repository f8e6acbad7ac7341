import { after, before, test } from "node:test";
import assert from "node:assert/strict";
import { execFile } from "node:child_process";
import { promisify } from "node:util";
import { writeFile, mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { eventually, listPods, simulateKubelet, startCluster, type Cluster } from "./helpers.js";

const run = promisify(execFile);

let c: Cluster;
let dir: string;
let stopKubelet: () => Promise<void>;
before(async () => {
  c = await startCluster(["replicationcontroller", "garbagecollector", "resourcequota"]);
  stopKubelet = simulateKubelet(c, "default");
  dir = await mkdtemp(join(tmpdir(), "skiff-rc-"));
});
after(async () => {
  await stopKubelet();
  await c.stop();
  await rm(dir, { recursive: true, force: true });
});

// Asynchronous on purpose: the apiserver runs in this process.
const kubectl = async (...args: string[]) =>
  (await run("kubectl", ["--kubeconfig", c.api.kubeconfig, ...args], { timeout: 60_000 })).stdout;

/** kubectl's exit status and stderr, for commands expected to fail. */
async function kubectlFails(...args: string[]): Promise<string> {
  try {
    await kubectl(...args);
  } catch (e) {
    return String((e as { stderr?: string }).stderr);
  }
  throw new Error(`kubectl ${args.join(" ")} succeeded`);
}

const rcManifest = (name: string, replicas: number) => `
apiVersion: v1
kind: ReplicationController
metadata:
  name: ${name}
spec:
  replicas: ${replicas}
  template:
    metadata:
      labels:
        app: ${name}
    spec:
      containers:
      - name: web
        image: nginx:1.27
`;

test("kubectl creates an RC (selector defaulted from the template), scales it, prints it, and deleting it removes its pods", async () => {
  const file = join(dir, "rc.yaml");
  await writeFile(file, rcManifest("nginx", 3));
  assert.match(await kubectl("apply", "-f", file), /replicationcontroller\/nginx created/);
  const rc = JSON.parse(await kubectl("get", "rc", "nginx", "-o", "json"));
  assert.deepEqual(rc.spec.selector, { app: "nginx" });
  assert.deepEqual(rc.metadata.labels, { app: "nginx" });

  const pods = await eventually(async () => {
    const p = await listPods(c, "default", "app=nginx");
    return p.length === 3 && p;
  }, "3 pods");
  for (const p of pods) {
    assert.match(p.metadata.name ?? "", /^nginx-[a-z0-9]{5}$/);
    assert.deepEqual(p.metadata.ownerReferences, [
      {
        apiVersion: "v1",
        kind: "ReplicationController",
        name: "nginx",
        uid: rc.metadata.uid,
        controller: true,
        blockOwnerDeletion: true,
      },
    ]);
  }
  await eventually(
    async () => /^nginx\s+3\s+3\s+3\s+\S+$/m.test(await kubectl("get", "rc", "--no-headers")),
    "get rc showing 3 desired, current and ready",
  );

  assert.match(await kubectl("scale", "rc", "nginx", "--replicas=5"), /scaled/);
  await eventually(async () => (await listPods(c, "default", "app=nginx")).length === 5, "5 pods");
  await eventually(async () => {
    const out = await kubectl("get", "replicationcontrollers", "-o", "wide");
    const [header, row] = out.trim().split("\n");
    return (
      /^NAME\s+DESIRED\s+CURRENT\s+READY\s+AGE\s+CONTAINERS\s+IMAGES\s+SELECTOR$/.test(header!) &&
      /^nginx\s+5\s+5\s+5\s+\S+\s+web\s+nginx:1\.27\s+app=nginx$/.test(row!)
    );
  }, "get rc -o wide showing 5 ready pods and the selector");
  const scale = JSON.parse(
    await kubectl("get", "--raw", "/api/v1/namespaces/default/replicationcontrollers/nginx/scale"),
  );
  assert.deepEqual(scale.spec, { replicas: 5 });
  assert.equal(scale.status.selector, "app=nginx");

  assert.match(await kubectl("scale", "rc", "nginx", "--replicas=1"), /scaled/);
  await eventually(async () => (await listPods(c, "default", "app=nginx")).length === 1, "1 pod");

  await kubectl("delete", "rc", "nginx");
  await eventually(
    async () => (await listPods(c, "default", "app=nginx")).length === 0,
    "the garbage collector deleting the RC's pods",
  );
});

test("an RC whose selector does not match its template is refused with the field path", async () => {
  const file = join(dir, "bad.yaml");
  await writeFile(
    file,
    rcManifest("bad", 1).replace(
      "  replicas: 1\n",
      "  replicas: -1\n  selector:\n    app: other\n",
    ),
  );
  const err = await kubectlFails("create", "-f", file);
  assert.match(err, /spec\.replicas: Invalid value: -1: must be greater than or equal to 0/);
  assert.match(
    err,
    /spec\.template\.metadata\.labels: Invalid value: map\[string\]string\{"app":"bad"\}: `selector` does not match template `labels`/,
  );
});

test("a quota counts ReplicationControllers and refuses the one over its limit", async () => {
  await kubectl("create", "namespace", "rc-quota");
  await kubectl("-n", "rc-quota", "create", "quota", "rcs", "--hard=replicationcontrollers=1");
  const file = join(dir, "quota.yaml");
  await writeFile(file, rcManifest("first", 0));
  await kubectl("-n", "rc-quota", "create", "-f", file);
  await eventually(
    async () =>
      /replicationcontrollers: 1\/1/.test(await kubectl("-n", "rc-quota", "get", "quota")),
    "the quota controller counting the RC",
  );
  await writeFile(file, rcManifest("second", 0));
  assert.match(
    await kubectlFails("-n", "rc-quota", "create", "-f", file),
    /replicationcontrollers "second" is forbidden: exceeded quota: rcs, requested: replicationcontrollers=1, used: replicationcontrollers=1, limited: replicationcontrollers=1/,
  );
});
