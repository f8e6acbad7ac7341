import { test } from "node:test";
import assert from "node:assert/strict";
import { findResource } from "../src/resources.js";
import { checkFieldSelector, selectableFields } from "../src/fields.js";
import { matchesFields, parseFieldSelector } from "../src/selectors.js";

function info(group: string, resource: string) {
  const r = findResource(group, "v1", resource);
  assert.ok(r, resource);
  return r;
}

const pod = {
  metadata: { name: "web-1", namespace: "default" },
  spec: {
    nodeName: "n1",
    restartPolicy: "Always",
    schedulerName: "default-scheduler",
    serviceAccountName: "default",
  },
  status: { phase: "Running", podIP: "10.0.0.5", podIPs: [{ ip: "10.0.0.5" }] },
};

test("pods expose the fields kubectl and controllers select on", () => {
  assert.deepEqual(selectableFields(info("", "pods"), pod), {
    "metadata.name": "web-1",
    "metadata.namespace": "default",
    "spec.nodeName": "n1",
    "spec.restartPolicy": "Always",
    "spec.schedulerName": "default-scheduler",
    "spec.serviceAccountName": "default",
    "spec.hostNetwork": "false",
    "status.phase": "Running",
    "status.podIP": "10.0.0.5",
    "status.nominatedNodeName": "",
  });
});

test("spec.nodeName= selects pods that are not scheduled yet", () => {
  const pods = info("", "pods");
  const unscheduled = {
    metadata: { name: "p", namespace: "default" },
    spec: {},
  };
  const sel = parseFieldSelector("spec.nodeName=");
  assert.equal(matchesFields(sel, selectableFields(pods, unscheduled)), true);
  assert.equal(matchesFields(sel, selectableFields(pods, pod)), false);
});

test("describe node's pod selector skips succeeded pods on the node", () => {
  const pods = info("", "pods");
  const sel = parseFieldSelector("spec.nodeName=n1,status.phase!=Succeeded");
  assert.equal(checkFieldSelector(pods, sel), undefined);
  assert.equal(matchesFields(sel, selectableFields(pods, pod)), true);
  const done = { ...pod, status: { phase: "Succeeded" } };
  assert.equal(matchesFields(sel, selectableFields(pods, done)), false);
});

test("describe's event selector matches the events of one object", () => {
  const events = info("", "events");
  const event = {
    metadata: { name: "web-1.17a", namespace: "default" },
    involvedObject: {
      kind: "Pod",
      namespace: "default",
      name: "web-1",
      uid: "u-1",
      apiVersion: "v1",
      fieldPath: "spec.containers{nginx}",
    },
    reason: "Pulled",
    type: "Normal",
    source: { component: "kubelet", host: "n1" },
    reportingComponent: "kubelet",
  };
  const fields = selectableFields(events, event);
  assert.equal(fields["source"], "kubelet");
  assert.equal(fields["involvedObject.resourceVersion"], "");
  const sel = parseFieldSelector(
    "involvedObject.name=web-1,involvedObject.namespace=default,involvedObject.uid=u-1",
  );
  assert.equal(checkFieldSelector(events, sel), undefined);
  assert.equal(matchesFields(sel, fields), true);
  assert.equal(matchesFields(parseFieldSelector("involvedObject.uid=u-2"), fields), false);
  assert.equal(matchesFields(parseFieldSelector("type=Warning"), fields), false);
});

test("kind-specific fields of nodes, namespaces, secrets, replicasets and jobs", () => {
  assert.equal(
    selectableFields(info("", "nodes"), {
      metadata: { name: "n1" },
      spec: { unschedulable: true },
    })["spec.unschedulable"],
    "true",
  );
  assert.equal(
    selectableFields(info("", "nodes"), { metadata: { name: "n1" } })["spec.unschedulable"],
    "false",
  );
  assert.equal(
    selectableFields(info("", "namespaces"), {
      metadata: { name: "x" },
      status: { phase: "Terminating" },
    })["status.phase"],
    "Terminating",
  );
  assert.equal(
    selectableFields(info("", "secrets"), {
      metadata: { name: "s" },
      type: "Opaque",
    })["type"],
    "Opaque",
  );
  assert.equal(
    selectableFields(info("apps", "replicasets"), {
      metadata: { name: "r" },
      status: { replicas: 3 },
    })["status.replicas"],
    "3",
  );
  assert.equal(
    selectableFields(info("apps", "replicasets"), { metadata: { name: "r" } })["status.replicas"],
    "0",
  );
  assert.equal(
    selectableFields(info("batch", "jobs"), {
      metadata: { name: "j" },
      status: { succeeded: 1 },
    })["status.successful"],
    "1",
  );
});

test("cluster-scoped objects have an empty metadata.namespace", () => {
  const fields = selectableFields(info("", "nodes"), {
    metadata: { name: "n1", namespace: "ignored" },
  });
  assert.equal(fields["metadata.namespace"], "");
  assert.equal(fields["metadata.name"], "n1");
});

test("selecting on a field the kind does not support is refused like Kubernetes", () => {
  const cm = info("", "configmaps");
  assert.equal(checkFieldSelector(cm, parseFieldSelector("metadata.name=x")), undefined);
  assert.equal(
    checkFieldSelector(cm, parseFieldSelector("metadata.name=x,spec.foo=y")),
    "field label not supported: spec.foo",
  );
  assert.equal(
    checkFieldSelector(info("", "pods"), parseFieldSelector("status.podIP=1.2.3.4")),
    undefined,
  );
  assert.equal(
    checkFieldSelector(info("", "nodes"), parseFieldSelector("spec.nodeName=n1")),
    "field label not supported: spec.nodeName",
  );
});
