// The netlink side on a real kernel: plans applied in a network namespace of their own
// (apply-plan.ts), then read back with iproute2 — add, replace, delete, switch backends.
import { test } from "node:test";
import assert from "node:assert/strict";
import { runTs, scratchNetns, sh } from "./topology.js";
import { b, c, self } from "./fixtures.js";
import type { NetAction } from "../src/plan.js";
import type { NodeNet } from "../src/nodes.js";

const netns = "sknt-kern";
const entry = new URL("./apply-plan.ts", import.meta.url).pathname;
interface Applied {
  actions: NetAction[];
  failed: unknown[];
  replan: NetAction[];
}

async function apply(backend: "vxlan" | "host-gw", nodes: NodeNet[]): Promise<Applied> {
  const input = { backend, clusterCIDR: "10.244.0.0/16", vni: 1, port: 8472, self, nodes };
  const out = await runTs(netns, [entry, JSON.stringify(input)]);
  const applied = JSON.parse(out) as Applied;
  assert.deepEqual(applied.failed, []);
  assert.deepEqual(applied.replan, [], "the kernel matches the plan after applying it");
  return applied;
}

const ip = (...args: string[]) => sh("ip", "-n", netns, ...args);
const ops = (a: Applied) => a.actions.map((x) => x.op);

scratchNetns(netns, async () => {
  await ip("link", "add", "eth0", "type", "veth", "peer", "name", "eth1");
  await ip("addr", "add", "192.168.77.1/24", "dev", "eth0");
  await ip("link", "set", "eth0", "up");
  await ip("link", "set", "eth1", "up");
});

test("vxlan: the device, routes, neighbours and FDB entries are made, replaced and removed", async () => {
  const first = await apply("vxlan", [b, c]);
  assert.deepEqual(ops(first), [
    "createLink",
    "addFdb",
    "addFdb",
    "addNeighbour",
    "addNeighbour",
    "addRoute",
    "addRoute",
  ]);
  const link = await ip("-d", "link", "show", "skiff.1");
  assert.match(link, / mtu 1450 /);
  assert.match(link, /vxlan id 1 local 192\.168\.77\.1 dev eth0 .*dstport 8472 nolearning/);
  assert.match(await ip("addr", "show", "skiff.1"), /inet 10\.244\.1\.0\/32 /);
  assert.match(
    await ip("route"),
    /10\.244\.2\.0\/24 via 10\.244\.2\.0 dev skiff\.1 proto 83 onlink/,
  );
  assert.match(
    await ip("neigh", "show", "dev", "skiff.1"),
    /10\.244\.2\.0 lladdr 0a:00:00:00:00:02 PERMANENT/,
  );
  assert.match(
    await sh("bridge", "-n", netns, "fdb", "show", "dev", "skiff.1"),
    /0a:00:00:00:00:02 dst 192\.168\.77\.2 self permanent/,
  );

  // c moved to another IP and got a new VTEP; b's podCIDR changed (the Node was made again).
  const moved = await apply("vxlan", [
    { ...b, podCIDR: "10.244.9.0/24" },
    { ...c, publicIP: "192.168.77.33", vtepMAC: "0a:00:00:00:00:33" },
  ]);
  assert.deepEqual(ops(moved), [
    "deleteRoute",
    "deleteNeighbour",
    "deleteFdb",
    "addFdb",
    "addNeighbour",
    "replaceNeighbour",
    "addRoute",
  ]);
  const routes = await ip("route", "show", "proto", "83");
  assert.doesNotMatch(routes, /10\.244\.2\.0\/24/);
  assert.match(routes, /10\.244\.9\.0\/24 via 10\.244\.9\.0 dev skiff\.1 onlink/);
  assert.match(
    await ip("neigh", "show", "dev", "skiff.1"),
    /10\.244\.3\.0 lladdr 0a:00:00:00:00:33 PERMANENT/,
  );
  const fdb = await sh("bridge", "-n", netns, "fdb", "show", "dev", "skiff.1");
  assert.match(fdb, /0a:00:00:00:00:33 dst 192\.168\.77\.33 /);
  assert.doesNotMatch(fdb, /0a:00:00:00:00:03/);

  const removed = await apply("vxlan", []);
  assert.deepEqual(ops(removed), [
    "deleteRoute",
    "deleteRoute",
    "deleteNeighbour",
    "deleteNeighbour",
    "deleteFdb",
    "deleteFdb",
  ]);
  assert.equal(await ip("route", "show", "proto", "83"), "");
});

test("host-gw after vxlan: the device goes, routes run via the nodes' IPs on the uplink", async () => {
  const gw = await apply("host-gw", [b, c]);
  assert.deepEqual(ops(gw), ["deleteLink", "addRoute", "addRoute"]);
  assert.doesNotMatch(await ip("link", "show"), /skiff\.1/);
  assert.equal(
    await ip("route", "show", "proto", "83"),
    "10.244.2.0/24 via 192.168.77.2 dev eth0 \n10.244.3.0/24 via 192.168.77.3 dev eth0 \n",
  );
  const moved = await apply("host-gw", [b, { ...c, publicIP: "192.168.77.33" }]);
  assert.deepEqual(ops(moved), ["replaceRoute"]);
  assert.match(
    await ip("route", "show", "proto", "83"),
    /10\.244\.3\.0\/24 via 192\.168\.77\.33 dev eth0/,
  );
});
