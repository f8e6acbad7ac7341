import { test } from "node:test";
import assert from "node:assert/strict";
import { VolumeBinderController } from "../src/controllers/volume/binder.js";
import { SELECTED_NODE, findVolume } from "../src/controllers/volume/binding.js";
import { StorageProtectionController } from "../src/controllers/volume/protection.js";
import type { PersistentVolume, PersistentVolumeClaim, Pod, StorageClass } from "../src/objects.js";
import { newFixture } from "./fixture.js";

function claim(
  name: string,
  storage = "1Gi",
  extra: Partial<NonNullable<PersistentVolumeClaim["spec"]>> = {},
): PersistentVolumeClaim {
  return {
    apiVersion: "v1",
    kind: "PersistentVolumeClaim",
    metadata: { name, namespace: "default", uid: `uid-${name}`, resourceVersion: "2" },
    spec: {
      accessModes: ["ReadWriteOnce"],
      resources: { requests: { storage } },
      volumeMode: "Filesystem",
      ...extra,
    },
    status: { phase: "Pending" },
  } as PersistentVolumeClaim;
}

function volume(
  name: string,
  storage: string,
  extra: Partial<NonNullable<PersistentVolume["spec"]>> = {},
): PersistentVolume {
  return {
    apiVersion: "v1",
    kind: "PersistentVolume",
    metadata: {
      name,
      resourceVersion: "3",
      labels: { tier: name.startsWith("fast") ? "fast" : "slow" },
    },
    spec: {
      capacity: { storage },
      accessModes: ["ReadWriteOnce", "ReadOnlyMany"],
      hostPath: { path: `/srv/${name}` },
      persistentVolumeReclaimPolicy: "Retain",
      volumeMode: "Filesystem",
      ...extra,
    },
    status: { phase: "Available" },
  } as PersistentVolume;
}

const localPath: StorageClass = {
  apiVersion: "storage.k8s.io/v1",
  kind: "StorageClass",
  metadata: { name: "local-path", resourceVersion: "1" },
  provisioner: "skiff.io/local-path",
  reclaimPolicy: "Delete",
  volumeBindingMode: "WaitForFirstConsumer",
} as StorageClass;

function binder(claims: PersistentVolumeClaim[], volumes: PersistentVolume[], pods: Pod[] = []) {
  const f = newFixture();
  f.load("persistentvolumeclaims", claims);
  f.load("persistentvolumes", volumes);
  f.load("storage.k8s.io/storageclasses", [localPath]);
  f.load("nodes", [
    { apiVersion: "v1", kind: "Node", metadata: { name: "n1", resourceVersion: "1" } },
  ]);
  f.load("pods", pods);
  return { f, controller: new VolumeBinderController(f.ctx, { localPathRoot: "/data/lp" }) };
}

test("a claim binds to the smallest free volume that fits its size, modes and selector", () => {
  const pvs = [
    volume("big", "10Gi"),
    volume("small", "500Mi"),
    volume("mid", "2Gi"),
    volume("fast", "5Gi"),
  ];
  assert.equal(findVolume(claim("c", "1Gi"), pvs)?.metadata.name, "mid");
  assert.equal(
    findVolume(claim("c", "1Gi", { selector: { matchLabels: { tier: "fast" } } }), pvs)?.metadata
      .name,
    "fast",
  );
  assert.equal(findVolume(claim("c", "1Gi", { accessModes: ["ReadWriteMany"] }), pvs), undefined);
  assert.equal(findVolume(claim("c", "1Gi", { storageClassName: "other" }), pvs), undefined);
  const taken = volume("mid", "2Gi", { claimRef: { namespace: "default", name: "x", uid: "ux" } });
  assert.equal(findVolume(claim("c", "1Gi"), [taken, volume("big", "10Gi")])?.metadata.name, "big");
});

test("binding writes both halves: the volume's claimRef and phase, the claim's volumeName, phase and capacity", async () => {
  const { f, controller } = binder([claim("data")], [volume("mid", "2Gi")]);
  await controller.sync("claim:default/data");
  const [pvUpdate] = f.made("PUT", "persistentvolumes").filter((c) => !c.path.endsWith("/status"));
  assert.deepEqual(
    (({ name, namespace, uid }) => ({ name, namespace, uid }))(
      (pvUpdate?.body as PersistentVolume).spec!.claimRef!,
    ),
    { name: "data", namespace: "default", uid: "uid-data" },
  );
  const pvStatus = f.calls.find(
    (c) => c.method === "PUT" && c.path.endsWith("persistentvolumes/mid/status"),
  );
  assert.equal((pvStatus?.body as PersistentVolume).status?.phase, "Bound");
  const pvcUpdate = f.calls.find(
    (c) => c.method === "PUT" && c.path.endsWith("persistentvolumeclaims/data"),
  );
  assert.equal((pvcUpdate?.body as PersistentVolumeClaim).spec?.volumeName, "mid");
  assert.equal(
    (pvcUpdate?.body as PersistentVolumeClaim).metadata.annotations?.[
      "pv.kubernetes.io/bind-completed"
    ],
    "yes",
  );
  const pvcStatus = f.calls.find(
    (c) => c.method === "PUT" && c.path.endsWith("persistentvolumeclaims/data/status"),
  );
  assert.deepEqual((pvcStatus?.body as PersistentVolumeClaim).status, {
    phase: "Bound",
    accessModes: ["ReadWriteOnce", "ReadOnlyMany"],
    capacity: { storage: "2Gi" },
  });
});

test("a local-path claim waits for its first consumer's node, then gets a volume on that node", async () => {
  let { f, controller } = binder([claim("data", "1Gi", { storageClassName: "local-path" })], []);
  await controller.sync("claim:default/data");
  assert.deepEqual(
    f.made("POST", "persistentvolumes"),
    [],
    "WaitForFirstConsumer: no node chosen yet",
  );

  const chosen = claim("data", "1Gi", { storageClassName: "local-path" });
  chosen.metadata.annotations = { [SELECTED_NODE]: "n1" };
  ({ f, controller } = binder([chosen], []));
  await controller.sync("claim:default/data");
  const [created] = f.made("POST", "persistentvolumes");
  const pv = created?.body as PersistentVolume;
  assert.equal(pv.metadata.name, "pvc-uid-data");
  assert.deepEqual(pv.spec?.hostPath, {
    path: "/data/lp/pvc-uid-data_default_data",
    type: "DirectoryOrCreate",
  });
  assert.deepEqual(pv.spec?.nodeAffinity?.required?.nodeSelectorTerms, [
    { matchExpressions: [{ key: "kubernetes.io/hostname", operator: "In", values: ["n1"] }] },
  ]);
  assert.equal(pv.spec?.claimRef?.uid, "uid-data");
  assert.equal(pv.spec?.persistentVolumeReclaimPolicy, "Delete");
  assert.equal(pv.spec?.storageClassName, "local-path");
});

test("a released volume is kept under Retain; under Delete a local-path volume's directory is removed by a helper pod, then the volume", async () => {
  const bound = { namespace: "default", name: "gone", uid: "uid-gone" };
  let { f, controller } = binder([], [volume("kept", "1Gi", { claimRef: bound })]);
  await controller.sync("volume:kept");
  assert.equal(
    (f.made("PUT", "persistentvolumes")[0]?.body as PersistentVolume).status?.phase,
    "Released",
  );
  assert.deepEqual(f.made("POST", "pods"), []);
  assert.deepEqual(f.made("DELETE", "persistentvolumes"), []);

  const provisioned = volume("pvc-1", "1Gi", {
    claimRef: bound,
    persistentVolumeReclaimPolicy: "Delete",
    hostPath: { path: "/data/lp/pvc-1_default_gone", type: "DirectoryOrCreate" },
    nodeAffinity: {
      required: {
        nodeSelectorTerms: [
          { matchExpressions: [{ key: "kubernetes.io/hostname", operator: "In", values: ["n1"] }] },
        ],
      },
    },
  });
  provisioned.metadata.annotations = { "pv.kubernetes.io/provisioned-by": "skiff.io/local-path" };
  provisioned.status = { phase: "Released" };
  ({ f, controller } = binder([], [provisioned]));
  await controller.sync("volume:pvc-1");
  const helper = f.made("POST", "pods")[0]?.body as Pod;
  assert.equal(helper.spec?.nodeName, "n1");
  assert.deepEqual(helper.spec?.containers[0]?.command, ["rm", "-rf", "/data/pvc-1_default_gone"]);
  assert.deepEqual(helper.spec?.volumes?.[0]?.hostPath?.path, "/data/lp");
  assert.deepEqual(f.made("DELETE", "persistentvolumes"), [], "not before the directory is gone");

  const done = {
    ...structuredClone(helper),
    metadata: { ...helper.metadata, resourceVersion: "5" },
    status: { phase: "Succeeded" },
  } as Pod;
  ({ f, controller } = binder([], [provisioned], [done]));
  await controller.sync("volume:pvc-1");
  assert.equal(f.made("DELETE", "persistentvolumes").length, 1);
  assert.equal(f.made("DELETE", "pods").length, 1);
});

test("a claim being deleted keeps its protection finalizer while a running pod uses it", async () => {
  const deleting = claim("data");
  deleting.metadata.deletionTimestamp = "2026-12-07T10:00:00Z";
  deleting.metadata.finalizers = ["kubernetes.io/pvc-protection"];
  const user = (phase: string): Pod =>
    ({
      apiVersion: "v1",
      kind: "Pod",
      metadata: { name: "db-0", namespace: "default", resourceVersion: "4" },
      spec: {
        containers: [],
        volumes: [{ name: "d", persistentVolumeClaim: { claimName: "data" } }],
      },
      status: { phase },
    }) as Pod;
  const run = async (pods: Pod[]) => {
    const f = newFixture();
    f.load("persistentvolumeclaims", [deleting]);
    f.load("persistentvolumes", []);
    f.load("pods", pods);
    await new StorageProtectionController(f.ctx).sync("claim:default/data");
    return f.made("PUT", "persistentvolumeclaims");
  };
  assert.deepEqual(await run([user("Running")]), []);
  const [released] = await run([user("Succeeded")]);
  assert.deepEqual(released?.body?.metadata.finalizers, []);
  assert.equal((await run([])).length, 1);
});
