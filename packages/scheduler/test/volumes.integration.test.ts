import { test } from "node:test";
import assert from "node:assert/strict";
import { resourceInfo } from "@skiff/api";
import type { CoreEvent, KubeObject } from "@skiff/client";
import { eventsInfo, startEnv, waitFor } from "./helpers.js";
import { makeNode, makePod } from "./fixtures.js";

const claimsInfo = resourceInfo("", "v1", "persistentvolumeclaims");
const volumesInfo = resourceInfo("", "v1", "persistentvolumes");
const classesInfo = resourceInfo("storage.k8s.io", "v1", "storageclasses");

const claimVolume = (claimName: string) => ({
  volumes: [{ name: "data", persistentVolumeClaim: { claimName } }],
});

function claim(name: string, extra: Record<string, unknown>): KubeObject {
  return {
    apiVersion: "v1",
    kind: "PersistentVolumeClaim",
    metadata: { name, namespace: "default" },
    spec: { accessModes: ["ReadWriteOnce"], resources: { requests: { storage: "1Gi" } }, ...extra },
  } as KubeObject;
}

test("claims steer pods: a bound volume's node affinity pins the pod, a WaitForFirstConsumer claim learns the chosen node, a missing claim keeps the pod pending", async (t) => {
  const env = await startEnv();
  t.after(() => env.stop());
  for (const n of ["n1", "n2"])
    await env.createNode(makeNode(n, { labels: { "kubernetes.io/hostname": n } }));
  await env.client.resource(classesInfo).create({
    apiVersion: "storage.k8s.io/v1",
    kind: "StorageClass",
    metadata: { name: "later" },
    provisioner: "example.com/none",
    volumeBindingMode: "WaitForFirstConsumer",
  } as KubeObject);
  await env.client.resource(volumesInfo).create({
    apiVersion: "v1",
    kind: "PersistentVolume",
    metadata: { name: "on-n2" },
    spec: {
      capacity: { storage: "1Gi" },
      accessModes: ["ReadWriteOnce"],
      local: { path: "/mnt/disk" },
      storageClassName: "manual",
      nodeAffinity: {
        required: {
          nodeSelectorTerms: [
            {
              matchExpressions: [{ key: "kubernetes.io/hostname", operator: "In", values: ["n2"] }],
            },
          ],
        },
      },
    },
  } as KubeObject);
  const claims = env.client.resource(claimsInfo).namespace("default");
  await claims.create(claim("pinned", { volumeName: "on-n2", storageClassName: "manual" }));
  await claims.create(claim("delayed", { storageClassName: "later" }));
  await env.startScheduler();

  await env.createPod(makePod("uses-pinned", { spec: claimVolume("pinned") }));
  await env.createPod(makePod("uses-delayed", { spec: claimVolume("delayed") }));
  await env.createPod(makePod("uses-missing", { spec: claimVolume("nope") }));
  assert.equal(await env.boundNode("uses-pinned"), "n2");
  const node = await env.boundNode("uses-delayed");
  const marked = (await claims.get("delayed")).metadata.annotations?.[
    "volume.kubernetes.io/selected-node"
  ];
  assert.equal(marked, node);
  const events = env.client.resource<CoreEvent>(eventsInfo).namespace("default");
  const failed = await waitFor("FailedScheduling for the missing claim", async () =>
    (await events.list()).items.find(
      (e) => e.involvedObject.name === "uses-missing" && e.reason === "FailedScheduling",
    ),
  );
  assert.equal(failed.message, '0/2 nodes are available: persistentvolumeclaim "nope" not found.');
  assert.equal((await env.getPod("uses-missing")).spec.nodeName, undefined);
});
