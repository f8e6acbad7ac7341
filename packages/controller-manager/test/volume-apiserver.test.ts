import { test } from "node:test";
import assert from "node:assert/strict";
import { execFile } from "node:child_process";
import { promisify } from "node:util";
import { resourceInfo } from "@skiff/api";
import type { KubeObject } from "@skiff/client";
import { VolumeBinderController } from "../src/controllers/volume/binder.js";
import { StorageProtectionController } from "../src/controllers/volume/protection.js";
import type { PersistentVolume, PersistentVolumeClaim, Pod } from "../src/objects.js";
import { create, nodesInfo, podsInfo, startEnv, waitFor } from "./endpoints-testenv.js";

const run = promisify(execFile);
const claimsInfo = resourceInfo("", "v1", "persistentvolumeclaims");
const volumesInfo = resourceInfo("", "v1", "persistentvolumes");

test("on a real apiserver a claim gets the default local-path class, a volume on the chosen node, protection while in use, and its volume is reclaimed after it goes", async (t) => {
  const env = await startEnv();
  t.after(() => env.stop());
  await create(env, nodesInfo, {
    apiVersion: "v1",
    kind: "Node",
    metadata: { name: "n1" },
  } as KubeObject);
  env.run(
    new VolumeBinderController(env.ctx, { localPathRoot: "/var/lib/skiff-test/lp" }),
    new StorageProtectionController(env.ctx),
  );
  const kubectl = async (...args: string[]) =>
    (await run("kubectl", ["--kubeconfig", env.api.kubeconfig, ...args], { timeout: 60_000 }))
      .stdout;
  await waitFor("the default class", async () =>
    (await kubectl("get", "sc")).includes("local-path (default)"),
  );
  assert.match(
    await kubectl("get", "sc"),
    /NAME\s+PROVISIONER\s+RECLAIMPOLICY\s+VOLUMEBINDINGMODE\s+ALLOWVOLUMEEXPANSION\s+AGE\nlocal-path \(default\)\s+skiff\.io\/local-path\s+Delete\s+WaitForFirstConsumer\s+false\s+/,
  );

  const claims = env.client.resource<PersistentVolumeClaim>(claimsInfo).namespace("default");
  const made = await claims.create({
    apiVersion: "v1",
    kind: "PersistentVolumeClaim",
    metadata: { name: "data", namespace: "default" },
    spec: { accessModes: ["ReadWriteOnce"], resources: { requests: { storage: "1Gi" } } },
  } as PersistentVolumeClaim);
  assert.equal(made.spec?.storageClassName, "local-path", "DefaultStorageClass admission");
  assert.deepEqual(made.metadata.finalizers, ["kubernetes.io/pvc-protection"]);
  await new Promise((r) => setTimeout(r, 300));
  assert.equal(
    (await env.client.resource(volumesInfo).list()).items.length,
    0,
    "waits for a consumer",
  );

  // What the scheduler does when the claim's first pod goes to n1.
  await claims.patch(
    "data",
    { metadata: { annotations: { "volume.kubernetes.io/selected-node": "n1" } } },
    "merge",
  );
  const bound = await waitFor("the claim bound", async () => {
    const c = await claims.get("data");
    return c.status?.phase === "Bound" ? c : undefined;
  });
  const pv = await env.client.resource<PersistentVolume>(volumesInfo).get(bound.spec!.volumeName!);
  assert.equal(
    pv.spec?.hostPath?.path,
    `/var/lib/skiff-test/lp/pvc-${bound.metadata.uid}_default_data`,
  );
  assert.equal(pv.status?.phase, "Bound");
  assert.match(
    await kubectl("get", "pvc", "data"),
    /\ndata\s+Bound\s+pvc-[0-9a-f-]+\s+1Gi\s+RWO\s+local-path\s+<unset>\s+/,
  );
  assert.match(
    await kubectl("get", "pv"),
    /\npvc-[0-9a-f-]+\s+1Gi\s+RWO\s+Delete\s+Bound\s+default\/data\s+local-path\s+<unset>\s+/,
  );

  // In use: deletion waits for the pod.
  const pods = env.client.resource<Pod>(podsInfo).namespace("default");
  await pods.create({
    apiVersion: "v1",
    kind: "Pod",
    metadata: { name: "user", namespace: "default" },
    spec: {
      containers: [{ name: "c", image: "busybox" }],
      volumes: [{ name: "d", persistentVolumeClaim: { claimName: "data" } }],
    },
  } as Pod);
  await claims.delete("data");
  await new Promise((r) => setTimeout(r, 500));
  assert.ok((await claims.get("data")).metadata.deletionTimestamp, "kept while the pod uses it");
  assert.match(await kubectl("get", "pvc", "data"), /\ndata\s+Terminating\s+/);
  await pods.delete("user");
  await waitFor("the claim gone", async () => !(await claims.list()).items.length);

  // Released under Delete: the helper pod removes the directory on n1, then the volume goes.
  const helpers = env.client.resource<Pod>(podsInfo).namespace("kube-system");
  const helper = await waitFor("the cleanup pod", async () => (await helpers.list()).items[0]);
  assert.equal(helper.spec?.nodeName, "n1");
  assert.deepEqual(helper.spec?.containers[0]?.command, [
    "rm",
    "-rf",
    `/data/pvc-${bound.metadata.uid}_default_data`,
  ]);
  // Play the kubelet: the helper finished.
  await helpers.updateStatus({ ...helper, status: { phase: "Succeeded" } });
  await waitFor(
    "the volume deleted",
    async () => (await env.client.resource(volumesInfo).list()).items.length === 0,
  );
});
