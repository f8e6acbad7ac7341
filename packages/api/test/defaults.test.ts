import { test } from "node:test";
import assert from "node:assert/strict";
import { applyDefaults, imageTag } from "../src/defaults.js";
import {
  at,
  bareDeployment,
  barePod,
  deploymentInfo,
  info,
  jobInfo,
  podInfo,
  serviceInfo,
} from "./fixtures.js";

test("a bare pod gets Kubernetes' pod and container defaults", () => {
  const pod = barePod("busybox:1.36");
  applyDefaults(podInfo, pod);
  const spec = at(pod, "spec");
  assert.equal(at(spec, "restartPolicy"), "Always");
  assert.equal(at(spec, "dnsPolicy"), "ClusterFirst");
  assert.equal(at(spec, "terminationGracePeriodSeconds"), 30);
  assert.equal(at(spec, "schedulerName"), "default-scheduler");
  assert.deepEqual(at(spec, "securityContext"), {});
  assert.equal(at(spec, "serviceAccountName"), "default");
  assert.equal(at(spec, "serviceAccount"), "default");
  assert.equal(at(spec, "enableServiceLinks"), true);
  const c = at(spec, "containers", 0);
  assert.equal(at(c, "imagePullPolicy"), "IfNotPresent");
  assert.equal(at(c, "terminationMessagePath"), "/dev/termination-log");
  assert.equal(at(c, "terminationMessagePolicy"), "File");
  assert.deepEqual(at(c, "resources"), {});
});

test("imagePullPolicy is Always for :latest and untagged images, IfNotPresent otherwise", () => {
  for (const [image, policy] of [
    ["busybox", "Always"],
    ["busybox:latest", "Always"],
    ["registry.local:5000/team/busybox", "Always"],
    ["registry.local:5000/team/busybox:1.36", "IfNotPresent"],
    ["busybox@sha256:0123abcd", "IfNotPresent"],
  ] as const) {
    const pod = barePod(image);
    applyDefaults(podInfo, pod);
    assert.equal(at(pod, "spec", "containers", 0, "imagePullPolicy"), policy, image);
  }
  assert.equal(imageTag("localhost:5000/x"), "latest");
});

test("explicit values are never overwritten by defaults", () => {
  const pod = barePod();
  const spec = at(pod, "spec") as Record<string, unknown>;
  spec.restartPolicy = "Never";
  spec.terminationGracePeriodSeconds = 0;
  (at(spec, "containers", 0) as Record<string, unknown>).imagePullPolicy = "Never";
  applyDefaults(podInfo, pod);
  assert.equal(spec.restartPolicy, "Never");
  assert.equal(spec.terminationGracePeriodSeconds, 0);
  assert.equal(at(spec, "containers", 0, "imagePullPolicy"), "Never");
});

test("ports default to TCP and probes get their timing defaults and HTTP scheme", () => {
  const d = bareDeployment();
  applyDefaults(deploymentInfo, d);
  const c = at(d, "spec", "template", "spec", "containers", 0);
  assert.equal(at(c, "ports", 0, "protocol"), "TCP");
  const probe = at(c, "readinessProbe");
  assert.equal(at(probe, "periodSeconds"), 10);
  assert.equal(at(probe, "timeoutSeconds"), 1);
  assert.equal(at(probe, "successThreshold"), 1);
  assert.equal(at(probe, "failureThreshold"), 3);
  assert.equal(at(probe, "httpGet", "scheme"), "HTTP");
  assert.equal(at(c, "env", 0, "valueFrom", "fieldRef", "apiVersion"), "v1");
});

test("a pod's container with only limits requests its limits", () => {
  const pod = barePod();
  (at(pod, "spec", "containers", 0) as Record<string, unknown>).resources = {
    limits: { cpu: "500m" },
  };
  applyDefaults(podInfo, pod);
  assert.deepEqual(at(pod, "spec", "containers", 0, "resources", "requests"), { cpu: "500m" });
});

test("a deployment gets replicas 1, RollingUpdate 25%/25%, history 10 and a 600s deadline", () => {
  const d = bareDeployment();
  delete (d.spec as Record<string, unknown>).replicas;
  applyDefaults(deploymentInfo, d);
  assert.equal(at(d, "spec", "replicas"), 1);
  assert.deepEqual(at(d, "spec", "strategy"), {
    type: "RollingUpdate",
    rollingUpdate: { maxUnavailable: "25%", maxSurge: "25%" },
  });
  assert.equal(at(d, "spec", "revisionHistoryLimit"), 10);
  assert.equal(at(d, "spec", "progressDeadlineSeconds"), 600);
  // The template is defaulted as a pod spec, but without the pod-only defaults.
  assert.equal(at(d, "spec", "template", "spec", "restartPolicy"), "Always");
  assert.equal(at(d, "spec", "template", "spec", "enableServiceLinks"), undefined);
  assert.equal(at(d, "spec", "template", "spec", "serviceAccountName"), undefined);
});

test("a Recreate deployment gets no rollingUpdate parameters", () => {
  const d = bareDeployment();
  (d.spec as Record<string, unknown>).strategy = { type: "Recreate" };
  applyDefaults(deploymentInfo, d);
  assert.deepEqual(at(d, "spec", "strategy"), { type: "Recreate" });
});

test("replicasets default to 1 replica and daemonsets to RollingUpdate 1/0", () => {
  const rs = {
    metadata: { name: "r" },
    spec: { selector: {}, template: { spec: { containers: [] } } },
  };
  applyDefaults(info("apps/v1", "ReplicaSet"), rs);
  assert.equal(at(rs, "spec", "replicas"), 1);
  const ds = {
    metadata: { name: "d" },
    spec: { selector: {}, template: { spec: { containers: [] } } },
  };
  applyDefaults(info("apps/v1", "DaemonSet"), ds);
  assert.deepEqual(at(ds, "spec", "updateStrategy"), {
    type: "RollingUpdate",
    rollingUpdate: { maxUnavailable: 1, maxSurge: 0 },
  });
  assert.equal(at(ds, "spec", "revisionHistoryLimit"), 10);
});

test("jobs default parallelism, completions, backoffLimit and take their template's labels", () => {
  const job = {
    metadata: { name: "pi" },
    spec: {
      template: {
        metadata: { labels: { app: "pi" } },
        spec: { restartPolicy: "Never", containers: [] },
      },
    },
  };
  applyDefaults(jobInfo, job);
  assert.equal(at(job, "spec", "parallelism"), 1);
  assert.equal(at(job, "spec", "completions"), 1);
  assert.equal(at(job, "spec", "backoffLimit"), 6);
  assert.equal(at(job, "spec", "completionMode"), "NonIndexed");
  assert.equal(at(job, "spec", "suspend"), false);
  assert.deepEqual(at(job, "metadata", "labels"), { app: "pi" });

  const parallel = {
    metadata: { name: "p" },
    spec: { parallelism: 3, template: { spec: { containers: [] } } },
  };
  applyDefaults(jobInfo, parallel);
  assert.equal(
    at(parallel, "spec", "completions"),
    undefined,
    "a work queue job has no completions",
  );
});

test("services default to ClusterIP, TCP, targetPort = port and single-stack IPv4", () => {
  const svc = {
    metadata: { name: "web" },
    spec: { selector: { app: "web" }, ports: [{ port: 80 }] },
  };
  applyDefaults(serviceInfo, svc);
  const spec = at(svc, "spec");
  assert.equal(at(spec, "type"), "ClusterIP");
  assert.equal(at(spec, "sessionAffinity"), "None");
  assert.equal(at(spec, "internalTrafficPolicy"), "Cluster");
  assert.deepEqual(at(spec, "ipFamilies"), ["IPv4"]);
  assert.equal(at(spec, "ipFamilyPolicy"), "SingleStack");
  assert.equal(at(spec, "externalTrafficPolicy"), undefined);
  assert.deepEqual(at(spec, "ports", 0), { port: 80, protocol: "TCP", targetPort: 80 });

  const np = {
    metadata: { name: "np" },
    spec: { type: "NodePort", ports: [{ port: 80, targetPort: "http" }] },
  };
  applyDefaults(serviceInfo, np);
  assert.equal(at(np, "spec", "externalTrafficPolicy"), "Cluster");
  assert.equal(at(np, "spec", "ports", 0, "targetPort"), "http");
});

test("secrets are Opaque and fold stringData into base64 data", () => {
  const secret = { metadata: { name: "s" }, stringData: { password: "hunter2" } };
  applyDefaults(info("v1", "Secret"), secret);
  assert.equal(at(secret, "type"), "Opaque");
  assert.deepEqual(at(secret, "data"), { password: Buffer.from("hunter2").toString("base64") });
  assert.equal(at(secret, "stringData"), undefined);
});

test("a namespace gets the kubernetes finalizer, phase Active and its name label", () => {
  const ns = { metadata: { name: "team-a" } };
  applyDefaults(info("v1", "Namespace"), ns);
  assert.deepEqual(at(ns, "spec", "finalizers"), ["kubernetes"]);
  assert.equal(at(ns, "status", "phase"), "Active");
  assert.equal(at(ns, "metadata", "labels", "kubernetes.io/metadata.name"), "team-a");

  const terminating = { metadata: { name: "old" }, spec: {}, status: { phase: "Terminating" } };
  applyDefaults(info("v1", "Namespace"), terminating);
  assert.equal(at(terminating, "spec", "finalizers"), undefined);
});

test("endpoint slice ports default to TCP and a node's allocatable to its capacity", () => {
  const es = { metadata: { name: "e" }, addressType: "IPv4", endpoints: [], ports: [{ port: 80 }] };
  applyDefaults(info("discovery.k8s.io/v1", "EndpointSlice"), es);
  assert.equal(at(es, "ports", 0, "protocol"), "TCP");
  const node = { metadata: { name: "n1" }, status: { capacity: { cpu: "4", memory: "8Gi" } } };
  applyDefaults(info("v1", "Node"), node);
  assert.deepEqual(at(node, "status", "allocatable"), { cpu: "4", memory: "8Gi" });
});

test("a volume without a source is an emptyDir, and projected files get mode 0644", () => {
  const pod = barePod();
  (pod.spec as Record<string, unknown>).volumes = [
    { name: "scratch" },
    { name: "cfg", configMap: { name: "app" } },
    { name: "token", projected: { sources: [{ serviceAccountToken: { path: "token" } }] } },
  ];
  applyDefaults(podInfo, pod);
  assert.deepEqual(at(pod, "spec", "volumes", 0), { name: "scratch", emptyDir: {} });
  assert.equal(at(pod, "spec", "volumes", 1, "configMap", "defaultMode"), 420);
  assert.equal(
    at(
      pod,
      "spec",
      "volumes",
      2,
      "projected",
      "sources",
      0,
      "serviceAccountToken",
      "expirationSeconds",
    ),
    3600,
  );
});
