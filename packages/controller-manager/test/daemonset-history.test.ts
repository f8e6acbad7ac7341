import { test } from "node:test";
import assert from "node:assert/strict";
import { execFile } from "node:child_process";
import { promisify } from "node:util";
import { resourceInfo } from "@skiff/api";
import { DaemonSetController } from "../src/controllers/daemonset/index.js";
import type { DaemonSet } from "../src/objects.js";
import { newRevision } from "../src/history.js";
import type { ControllerRevision, Pod } from "../src/objects.js";
import { newFixture } from "./fixture.js";
import { eventually, listPods, simulateKubelet, startCluster } from "./helpers.js";

const run = promisify(execFile);

const template = (image: string) => ({
  metadata: { labels: { app: "agent" } },
  spec: { containers: [{ name: "agent", image }] },
});

function makeDaemonSet(image: string): DaemonSet {
  return {
    apiVersion: "apps/v1",
    kind: "DaemonSet",
    metadata: {
      name: "agent",
      namespace: "default",
      uid: "ds-uid",
      generation: 2,
      resourceVersion: "4",
    },
    spec: {
      selector: { matchLabels: { app: "agent" } },
      template: template(image),
      updateStrategy: { type: "RollingUpdate", rollingUpdate: { maxUnavailable: 1 } },
      revisionHistoryLimit: 1,
    },
    status: {
      currentNumberScheduled: 0,
      numberMisscheduled: 0,
      desiredNumberScheduled: 0,
      numberReady: 0,
    },
  } as DaemonSet;
}

test("a daemonset's template is kept as a ControllerRevision, its pods carry the revision's hash, and old history is trimmed", async () => {
  const ds = makeDaemonSet("agent:3");
  const owner = { apiVersion: "apps/v1", kind: "DaemonSet", metadata: ds.metadata };
  const old = [1, 2].map((n) => newRevision(owner, template(`agent:${n}`), n));
  const f = newFixture();
  f.load("apps/daemonsets", [ds]);
  f.load("nodes", [
    { apiVersion: "v1", kind: "Node", metadata: { name: "n1", resourceVersion: "1" } },
  ]);
  f.load("pods", []);
  f.load("apps/controllerrevisions", old);
  await new DaemonSetController(f.ctx).sync("default/agent");

  const [created] = f.made("POST", "controllerrevisions");
  const revision = created?.body as ControllerRevision;
  assert.equal(revision.revision, 3);
  assert.deepEqual(revision.data, {
    spec: { template: { ...template("agent:3"), $patch: "replace" } },
  });
  const hash = revision.metadata.labels?.["controller.kubernetes.io/hash"];
  assert.ok(hash && revision.metadata.name === `agent-${hash}`);
  const [pod] = f.made("POST", "pods");
  assert.equal((pod?.body as Pod).metadata.labels?.["controller-revision-hash"], hash);
  // Limit 1: of the two revisions no pod uses, the older goes.
  assert.deepEqual(
    f.made("DELETE", "controllerrevisions").map((c) => c.path.split("/").pop()),
    [old[0]!.metadata.name],
  );
});

test("the real kubectl shows a daemonset's rollout history and undoes its last update", async () => {
  const c = await startCluster(["daemonset"]);
  const stopKubelet = simulateKubelet(c, "default");
  const kubectl = async (...args: string[]) =>
    (await run("kubectl", ["--kubeconfig", c.api.kubeconfig, ...args], { timeout: 60_000 })).stdout;
  try {
    const nodes = c.client.resource(resourceInfo("", "v1", "nodes"));
    for (const name of ["n1", "n2"])
      await nodes.create({ apiVersion: "v1", kind: "Node", metadata: { name } });
    const dsClient = c.client.resource<DaemonSet>(resourceInfo("apps", "v1", "daemonsets"));
    await dsClient.namespace("default").create(makeDaemonSet("agent:1"));
    const imagesAre = (image: string) =>
      eventually(
        async () => {
          const pods = (await listPods(c, "default", "app=agent")).filter(
            (p) => !p.metadata.deletionTimestamp,
          );
          return pods.length === 2 && pods.every((p) => p.spec?.containers[0]?.image === image);
        },
        `both daemon pods on ${image}`,
        30_000,
      );
    await imagesAre("agent:1");
    await kubectl("set", "image", "ds/agent", "agent=agent:2");
    await imagesAre("agent:2");
    assert.match(
      await kubectl("rollout", "history", "ds/agent"),
      /REVISION\s+CHANGE-CAUSE\n1\s+<none>\n2\s+<none>/,
    );
    assert.match(await kubectl("rollout", "undo", "ds/agent"), /daemonset.apps\/agent rolled back/);
    await imagesAre("agent:1");
    assert.match(await kubectl("rollout", "history", "ds/agent"), /\n2\s+<none>\n3\s+<none>/);
    assert.match(
      await kubectl("rollout", "status", "ds/agent", "--timeout=30s"),
      /successfully rolled out/,
    );
  } finally {
    await stopKubelet();
    await c.stop();
  }
});
