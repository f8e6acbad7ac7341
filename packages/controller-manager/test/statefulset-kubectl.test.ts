import { test } from "node:test";
import assert from "node:assert/strict";
import { execFile } from "node:child_process";
import { mkdtemp, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { promisify } from "node:util";
import { eventually, listPods, simulateKubelet, startCluster } from "./helpers.js";

const run = promisify(execFile);

const manifest = `
apiVersion: v1
kind: Service
metadata: {name: db}
spec:
  clusterIP: None
  selector: {app: db}
  ports: [{port: 5432}]
---
apiVersion: apps/v1
kind: StatefulSet
metadata: {name: db}
spec:
  serviceName: db
  replicas: 3
  selector: {matchLabels: {app: db}}
  template:
    metadata: {labels: {app: db}}
    spec:
      containers: [{name: db, image: "postgres:16.1"}]
  volumeClaimTemplates:
  - metadata: {name: data}
    spec:
      accessModes: [ReadWriteOnce]
      resources: {requests: {storage: 1Gi}}
`;

test("the real kubectl applies a StatefulSet, watches it roll out in order, updates it with a partition, and undoes the update", async () => {
  const c = await startCluster(["statefulset", "garbagecollector"]);
  const created: string[] = [];
  // The simulated kubelet also notes the order in which pods first appear.
  const stopKubelet = simulateKubelet(c, "default", (p) => {
    if (!created.includes(p.metadata.name!)) created.push(p.metadata.name!);
    return true;
  });
  const dir = await mkdtemp(join(tmpdir(), "skiff-sts-"));
  const kubectl = async (...args: string[]) =>
    (await run("kubectl", ["--kubeconfig", c.api.kubeconfig, ...args], { timeout: 60_000 })).stdout;
  try {
    await writeFile(join(dir, "db.yaml"), manifest);
    await kubectl("apply", "-f", join(dir, "db.yaml"));
    assert.match(
      await kubectl("rollout", "status", "sts/db", "--timeout=40s"),
      // kubectl reports a partitioned roll-out whenever a partition is set, as defaulting does.
      /partitioned roll out complete: 3 new pods have been updated/,
    );
    assert.deepEqual(created, ["db-0", "db-1", "db-2"], "OrderedReady creates pods in order");
    const table = await kubectl("get", "sts", "db");
    assert.match(table, /^NAME\s+READY\s+AGE\n/);
    assert.match(table, /\ndb\s+3\/3\s+/);
    const claims = await kubectl(
      "get",
      "pvc",
      "-o",
      "custom-columns=N:.metadata.name",
      "--no-headers",
    );
    assert.deepEqual(claims.trim().split("\n"), ["data-db-0", "data-db-1", "data-db-2"]);
    assert.match(
      await kubectl("get", "pvc", "data-db-0"),
      /^NAME\s+STATUS\s+VOLUME\s+CAPACITY\s+ACCESS MODES\s+STORAGECLASS\s+VOLUMEATTRIBUTESCLASS\s+AGE\n/,
    );

    // A deleted pod comes back with the same name and claim.
    const before = (await listPods(c, "default", "app=db")).find(
      (p) => p.metadata.name === "db-1",
    )!;
    await kubectl("delete", "pod", "db-1", "--wait=false");
    const again = await eventually(async () => {
      const p = (await listPods(c, "default", "app=db")).find((x) => x.metadata.name === "db-1");
      return p && p.metadata.uid !== before.metadata.uid && !p.metadata.deletionTimestamp
        ? p
        : undefined;
    }, "db-1 recreated");
    assert.equal(
      again.spec?.volumes?.find((v) => v.name === "data")?.persistentVolumeClaim?.claimName,
      "data-db-1",
    );

    // A partitioned update leaves db-0 on the old template.
    await kubectl(
      "patch",
      "sts",
      "db",
      "-p",
      '{"spec":{"updateStrategy":{"rollingUpdate":{"partition":1}}}}',
    );
    await kubectl("set", "image", "sts/db", "db=postgres:16.2");
    assert.match(
      await kubectl("rollout", "status", "sts/db", "--timeout=40s"),
      /partitioned roll out complete: 2 new pods have been updated/,
    );
    const images = async () =>
      Object.fromEntries(
        (await listPods(c, "default", "app=db")).map((p) => [
          p.metadata.name,
          p.spec?.containers[0]?.image,
        ]),
      );
    assert.deepEqual(await images(), {
      "db-0": "postgres:16.1",
      "db-1": "postgres:16.2",
      "db-2": "postgres:16.2",
    });

    assert.match(
      await kubectl("rollout", "history", "sts/db"),
      /REVISION\s+CHANGE-CAUSE\n1\s+<none>\n2\s+<none>/,
    );
    assert.match(
      await kubectl("get", "controllerrevisions"),
      /NAME\s+CONTROLLER\s+REVISION\s+AGE\n.*statefulset\.apps\/db\s+1/,
    );

    await kubectl(
      "patch",
      "sts",
      "db",
      "-p",
      '{"spec":{"updateStrategy":{"rollingUpdate":{"partition":0}}}}',
    );
    await kubectl("rollout", "undo", "sts/db");
    assert.match(
      await kubectl("rollout", "status", "sts/db", "--timeout=40s"),
      /partitioned roll out complete: 3 new pods have been updated/,
    );
    await eventually(async () => {
      const i = await images();
      return Object.values(i).length === 3 && Object.values(i).every((x) => x === "postgres:16.1");
    }, "all pods back on postgres:16.1");
    assert.match(await kubectl("rollout", "history", "sts/db"), /\n2\s+<none>\n3\s+<none>/);

    await kubectl("scale", "sts", "db", "--replicas=1");
    await eventually(
      async () => (await listPods(c, "default", "app=db")).length === 1,
      "one pod left",
    );
    const left = await kubectl("get", "pvc", "-o", "name");
    assert.equal(
      left.trim().split("\n").length,
      3,
      "claims stay after a scale down (whenScaled: Retain)",
    );
  } finally {
    await stopKubelet();
    await c.stop();
    await rm(dir, { recursive: true, force: true });
  }
});
