// Pure pieces: column alignment, JSONPath, the three-way apply patch, rollout messages.
import { test } from "node:test";
import assert from "node:assert/strict";
import type { DaemonSet, Deployment } from "@skiff/api";
import {
  alignRows,
  daemonSetStatus,
  deploymentStatus,
  jsonpath,
  tabwrite,
  threeWayPatch,
} from "../src/index.js";

test("columns are padded to the widest cell plus three spaces, at least six, the last left as is", () => {
  assert.equal(
    alignRows([
      ["NAME", "READY", "AGE"],
      ["a-long-name", "1/1", "5s"],
    ]),
    "NAME          READY   AGE\na-long-name   1/1     5s\n",
  );
});

test("describe text aligns each block of label lines on its own", () => {
  assert.equal(
    tabwrite("Name:\tweb\nLabels:\tapp=web\n\tenv=dev\nContainers:\n  c:\n    Image:\tnginx\n"),
    "Name:    web\nLabels:  app=web\n         env=dev\nContainers:\n  c:\n    Image:  nginx\n",
  );
});

test("jsonpath reads fields, wildcards, indexes and ranges", () => {
  const list = {
    items: [
      { metadata: { name: "a" }, n: 1 },
      { metadata: { name: "b" }, n: 2 },
    ],
  };
  assert.equal(jsonpath("{.items[*].metadata.name}", list), "a b");
  assert.equal(jsonpath("{.items[1].n}", list), "2");
  assert.equal(jsonpath('{range .items[*]}[{.metadata.name}]{"\\n"}{end}', list), "[a]\n[b]\n");
  assert.equal(jsonpath("name={.items[0].metadata}", list), 'name={"name":"a"}');
});

test("the apply patch deletes only what the last apply set, merges containers by name, keeps others' fields", () => {
  const original = {
    metadata: { labels: { app: "x", old: "1" } },
    spec: {
      template: {
        spec: {
          containers: [
            { name: "a", image: "i:1" },
            { name: "b", image: "j" },
          ],
        },
      },
    },
  };
  const modified = {
    metadata: { labels: { app: "x" } },
    spec: { template: { spec: { containers: [{ name: "a", image: "i:2" }] } } },
  };
  const current = {
    metadata: { labels: { app: "x", old: "1", other: "kept" } },
    spec: {
      replicas: 3,
      template: {
        spec: {
          containers: [
            { name: "a", image: "i:1", imagePullPolicy: "IfNotPresent" },
            { name: "b", image: "j" },
          ],
        },
      },
    },
  };
  assert.deepEqual(threeWayPatch(original, modified, current), {
    metadata: { labels: { old: null } },
    spec: {
      template: {
        spec: {
          "$setElementOrder/containers": [{ name: "a" }],
          containers: [
            { name: "a", image: "i:2" },
            { name: "b", $patch: "delete" },
          ],
        },
      },
    },
  });
  assert.deepEqual(
    threeWayPatch(modified, modified, {
      ...current,
      metadata: { labels: { app: "x" } },
      spec: { template: { spec: { containers: [{ name: "a", image: "i:2" }] } } },
    }),
    {},
  );
});

test("rollout status messages follow kubectl's order of checks", () => {
  const d = (status: Deployment["status"], generation = 1): Deployment => ({
    metadata: { name: "w", generation },
    spec: { replicas: 3, selector: {}, template: {} },
    status: { observedGeneration: 1, ...status },
  });
  assert.equal(
    deploymentStatus(d({}, 2)).message,
    "Waiting for deployment spec update to be observed...\n",
  );
  assert.equal(
    deploymentStatus(d({ updatedReplicas: 1, replicas: 3 })).message,
    'Waiting for deployment "w" rollout to finish: 1 out of 3 new replicas have been updated...\n',
  );
  assert.equal(
    deploymentStatus(d({ updatedReplicas: 3, replicas: 4 })).message,
    'Waiting for deployment "w" rollout to finish: 1 old replicas are pending termination...\n',
  );
  assert.equal(
    deploymentStatus(d({ updatedReplicas: 3, replicas: 3, availableReplicas: 2 })).message,
    'Waiting for deployment "w" rollout to finish: 2 of 3 updated replicas are available...\n',
  );
  assert.deepEqual(deploymentStatus(d({ updatedReplicas: 3, replicas: 3, availableReplicas: 3 })), {
    message: 'deployment "w" successfully rolled out\n',
    done: true,
  });
  assert.throws(
    () =>
      deploymentStatus(
        d({
          conditions: [
            {
              type: "Progressing",
              status: "False",
              reason: "ProgressDeadlineExceeded",
              lastUpdateTime: "2026-12-07T00:00:00Z",
            },
          ],
        }),
      ),
    /exceeded its progress deadline/,
  );
});

test("jsonpath filters list elements and reads keys with escaped dots", () => {
  const pod = {
    metadata: { annotations: { "example.com/x": "1" } },
    status: {
      conditions: [
        { type: "Ready", status: "True" },
        { type: "Scheduled", status: "False" },
      ],
    },
  };
  assert.equal(jsonpath('{.status.conditions[?(@.type=="Ready")].status}', pod), "True");
  assert.equal(jsonpath("{.status.conditions[?(@.status!='True')].type}", pod), "Scheduled");
  assert.equal(jsonpath("{.metadata.annotations.example\\.com/x}", pod), "1");
});

test("daemon set rollout status counts updated and available pods", () => {
  const ds = (status: Partial<NonNullable<DaemonSet["status"]>>): DaemonSet => ({
    metadata: { name: "agent", generation: 1 },
    status: {
      observedGeneration: 1,
      currentNumberScheduled: 3,
      numberMisscheduled: 0,
      numberReady: 0,
      desiredNumberScheduled: 3,
      ...status,
    },
  });
  assert.equal(
    daemonSetStatus(ds({ updatedNumberScheduled: 1 })).message,
    'Waiting for daemon set "agent" rollout to finish: 1 out of 3 new pods have been updated...\n',
  );
  assert.equal(
    daemonSetStatus(ds({ updatedNumberScheduled: 3, numberAvailable: 2 })).message,
    'Waiting for daemon set "agent" rollout to finish: 2 of 3 updated pods are available...\n',
  );
  assert.equal(daemonSetStatus(ds({ updatedNumberScheduled: 3, numberAvailable: 3 })).done, true);
});
