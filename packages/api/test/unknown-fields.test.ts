import { test } from "node:test";
import assert from "node:assert/strict";
import { pruneUnknownFields, unknownFields } from "../src/prune.js";
import { at, bareDeployment, barePod, deploymentInfo, info, podInfo } from "./fixtures.js";

type Obj = Record<string, unknown>;

test("a typo deep in a manifest is named by its path, in document order", () => {
  const d = bareDeployment();
  (at(d, "spec", "template", "spec", "containers", 0) as Obj).imagee = "nginx";
  (d.spec as Obj).replica = 2;
  assert.deepEqual(unknownFields(deploymentInfo, d), [
    "spec.template.spec.containers[0].imagee",
    "spec.replica",
  ]);
});

test("a valid manifest, with all metadata a server writes, has no unknown fields", () => {
  const pod = barePod();
  Object.assign(pod.metadata as Obj, {
    uid: "u",
    resourceVersion: "1",
    generation: 1,
    creationTimestamp: null,
    labels: { "any-key": "v" },
    annotations: { "kubectl.kubernetes.io/last-applied-configuration": "{}" },
    ownerReferences: [
      { apiVersion: "apps/v1", kind: "ReplicaSet", name: "rs", uid: "x", controller: true },
    ],
    finalizers: ["example.com/f"],
    managedFields: [
      {
        manager: "kubectl",
        operation: "Apply",
        fieldsType: "FieldsV1",
        fieldsV1: { "f:spec": { "f:x": {} } },
      },
    ],
  });
  (pod as Obj).status = {
    phase: "Running",
    containerStatuses: [
      {
        name: "box",
        ready: true,
        restartCount: 0,
        image: "b",
        imageID: "",
        state: { running: { startedAt: "2024-01-01T00:00:00Z" } },
      },
    ],
  };
  assert.deepEqual(unknownFields(podInfo, pod), []);
  const cm = {
    apiVersion: "v1",
    kind: "ConfigMap",
    metadata: { name: "c" },
    data: { "free.key": "v" },
  };
  assert.deepEqual(unknownFields(info("v1", "ConfigMap"), cm), []);
});

test("pruning removes unknown fields (alpha ones of 1.31 too) and reports them", () => {
  const pod = barePod();
  (pod as Obj).extra = { nested: true };
  // resizePolicy and image volumes are alpha in 1.31 (InPlacePodVerticalScaling, ImageVolume).
  (at(pod, "spec", "containers", 0) as Obj).resizePolicy = [];
  (pod.spec as Obj).volumes = [{ name: "v", image: { reference: "busybox" } }];
  const pruned = pruneUnknownFields(podInfo, pod);
  assert.deepEqual(pruned, ["spec.containers[0].resizePolicy", "spec.volumes[0].image", "extra"]);
  assert.equal((pod as Obj).extra, undefined);
  assert.equal(at(pod, "spec", "containers", 0, "resizePolicy"), undefined);
  assert.deepEqual(at(pod, "spec", "volumes", 0), { name: "v" });
  assert.deepEqual(unknownFields(podInfo, pod), []);
});
