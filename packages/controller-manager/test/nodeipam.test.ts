import { test } from "node:test";
import assert from "node:assert/strict";
import type { KubeObject } from "@skiff/client";
import { CidrSet, NodeIpamController } from "../src/controllers/nodeipam/index.js";
import type { Node } from "../src/objects.js";
import { create, nodesInfo, startEnv, waitFor } from "./endpoints-testenv.js";

const node = (name: string, podCIDR?: string): KubeObject =>
  ({
    apiVersion: "v1",
    kind: "Node",
    metadata: { name },
    spec: podCIDR ? { podCIDR, podCIDRs: [podCIDR] } : {},
  }) as KubeObject;

test("a cidr set hands out each subnet once and reuses released ones", () => {
  const set = new CidrSet("10.244.0.0/22", 24);
  assert.ok(set.occupy("10.244.1.0/24"));
  assert.equal(set.occupy("10.245.0.0/24"), false, "outside the cluster CIDR");
  assert.deepEqual(
    [set.allocateNext(), set.allocateNext(), set.allocateNext(), set.allocateNext()],
    ["10.244.0.0/24", "10.244.2.0/24", "10.244.3.0/24", undefined],
  );
  set.release("10.244.2.0/24");
  assert.equal(set.allocateNext(), "10.244.2.0/24");
});

test("every node gets its own pod CIDR, existing ones are kept and freed ones reused", async (t) => {
  const env = await startEnv();
  t.after(() => env.stop());
  const nodes = env.client.resource<Node>(nodesInfo);
  // A node that already holds a CIDR before the controller starts must never be doubled.
  await create(env, nodesInfo, node("old", "10.244.0.0/24"));
  await create(env, nodesInfo, node("a"));
  env.run(new NodeIpamController(env.ctx, { clusterCIDR: "10.244.0.0/16", nodeCIDRMaskSize: 24 }));
  await create(env, nodesInfo, node("b"));

  const cidrOf = (name: string) =>
    waitFor(`${name} has a pod CIDR`, async () => (await nodes.get(name)).spec?.podCIDR);
  const a = await cidrOf("a");
  const b = await cidrOf("b");
  assert.equal((await nodes.get("old")).spec?.podCIDR, "10.244.0.0/24");
  assert.deepEqual(new Set([a, b]), new Set(["10.244.1.0/24", "10.244.2.0/24"]));
  assert.deepEqual((await nodes.get("a")).spec?.podCIDRs, [a]);

  await nodes.delete("a");
  await new Promise((r) => setTimeout(r, 500)); // let the delete reach the controller
  await create(env, nodesInfo, node("c"));
  assert.equal(await cidrOf("c"), a, "the freed CIDR is handed out again");
});
