// Table tests of planNetwork, skiff-net's pure decision: Nodes + what the kernel shows → actions.
import { test } from "node:test";
import assert from "node:assert/strict";
import { desiredState, planNetwork } from "../src/plan.js";
import type { NetAction, NetState, PlanInput } from "../src/plan.js";
import type { NodeNet } from "../src/nodes.js";
import { a, b, c, self } from "./fixtures.js";

const empty: NetState = { routes: [], neighbours: [], fdb: [] };

function input(
  backend: "vxlan" | "host-gw",
  nodes: NodeNet[],
  observed: NetState = empty,
): PlanInput {
  return {
    backend,
    clusterCIDR: "10.244.0.0/16",
    vni: 1,
    port: 8472,
    self,
    uplink: { name: "eth0", mtu: 1500 },
    nodes,
    observed,
  };
}

/** The kernel as a previous sync left it for these nodes. */
function converged(backend: "vxlan" | "host-gw", nodes: NodeNet[]): NetState {
  return desiredState(input(backend, nodes)).desired;
}

const link = {
  name: "skiff.1",
  vni: 1,
  local: "192.168.77.1",
  port: 8472,
  uplink: "eth0",
  mtu: 1450,
  learning: false,
  up: true,
  addresses: ["10.244.1.0/32"],
};
const vxRoute = (n: NodeNet) => ({
  dst: n.podCIDR!,
  gateway: n.podCIDR!.replace("/24", ""),
  dev: "skiff.1",
  onlink: true,
});
const vxNeighbour = (n: NodeNet) => ({
  ip: n.podCIDR!.replace("/24", ""),
  mac: n.vtepMAC!,
  dev: "skiff.1",
});
const vxFdb = (n: NodeNet) => ({ mac: n.vtepMAC!, dst: n.publicIP!, dev: "skiff.1" });
const gwRoute = (n: NodeNet) => ({
  dst: n.podCIDR!,
  gateway: n.publicIP!,
  dev: "eth0",
  onlink: false,
});

interface Case {
  name: string;
  input: PlanInput;
  actions: NetAction[];
  skipped?: string[];
}

const cases: Case[] = [
  {
    name: "vxlan, first start: the device, then FDB, neighbour and route per remote node",
    input: input("vxlan", [a, b, c]),
    actions: [
      { op: "createLink", link },
      { op: "addFdb", fdb: vxFdb(b) },
      { op: "addFdb", fdb: vxFdb(c) },
      { op: "addNeighbour", neighbour: vxNeighbour(b) },
      { op: "addNeighbour", neighbour: vxNeighbour(c) },
      { op: "addRoute", route: vxRoute(b) },
      { op: "addRoute", route: vxRoute(c) },
    ],
  },
  {
    name: "vxlan, restart with everything already right: nothing",
    input: input("vxlan", [a, b, c], converged("vxlan", [a, b, c])),
    actions: [],
  },
  {
    name: "host-gw, restart with everything already right: nothing",
    input: input("host-gw", [a, b, c], converged("host-gw", [a, b, c])),
    actions: [],
  },
  {
    name: "vxlan, a new node: its entries only",
    input: input("vxlan", [a, b, c], converged("vxlan", [a, b])),
    actions: [
      { op: "addFdb", fdb: vxFdb(c) },
      { op: "addNeighbour", neighbour: vxNeighbour(c) },
      { op: "addRoute", route: vxRoute(c) },
    ],
  },
  {
    name: "vxlan, a removed node: its route, neighbour and FDB entry go",
    input: input("vxlan", [a, b], converged("vxlan", [a, b, c])),
    actions: [
      { op: "deleteRoute", route: vxRoute(c) },
      { op: "deleteNeighbour", neighbour: vxNeighbour(c) },
      { op: "deleteFdb", fdb: vxFdb(c) },
    ],
  },
  {
    name: "vxlan, a node's IP changed: its FDB entry points at the new one",
    input: input(
      "vxlan",
      [a, b, { ...c, publicIP: "192.168.77.33" }],
      converged("vxlan", [a, b, c]),
    ),
    actions: [
      {
        op: "replaceFdb",
        fdb: { ...vxFdb(c), dst: "192.168.77.33" },
        was: vxFdb(c),
      },
    ],
  },
  {
    name: "vxlan, a node's VTEP MAC changed: FDB entry swapped, neighbour replaced",
    input: input(
      "vxlan",
      [a, b, { ...c, vtepMAC: "0a:00:00:00:00:33" }],
      converged("vxlan", [a, b, c]),
    ),
    actions: [
      { op: "deleteFdb", fdb: vxFdb(c) },
      { op: "addFdb", fdb: { ...vxFdb(c), mac: "0a:00:00:00:00:33" } },
      {
        op: "replaceNeighbour",
        neighbour: { ...vxNeighbour(c), mac: "0a:00:00:00:00:33" },
        was: vxNeighbour(c),
      },
    ],
  },
  {
    name: "vxlan, a node's podCIDR changed (node made again): old route and neighbour go, new come",
    input: input(
      "vxlan",
      [a, b, { ...c, podCIDR: "10.244.9.0/24" }],
      converged("vxlan", [a, b, c]),
    ),
    actions: [
      { op: "deleteRoute", route: vxRoute(c) },
      { op: "deleteNeighbour", neighbour: vxNeighbour(c) },
      { op: "addNeighbour", neighbour: vxNeighbour({ ...c, podCIDR: "10.244.9.0/24" }) },
      { op: "addRoute", route: vxRoute({ ...c, podCIDR: "10.244.9.0/24" }) },
    ],
  },
  {
    name: "a node without a podCIDR is skipped until it has one",
    input: input(
      "vxlan",
      [a, b, { name: "c", publicIP: "192.168.77.3" }],
      converged("vxlan", [a, b]),
    ),
    actions: [],
    skipped: ["c: no podCIDR yet"],
  },
  {
    name: "vxlan, a node without a published VTEP MAC is skipped (host-gw routes it)",
    input: input("vxlan", [a, b, { ...c, vtepMAC: undefined }], converged("vxlan", [a, b])),
    actions: [],
    skipped: ["c: no VTEP MAC published yet"],
  },
  {
    name: "host-gw, a node without a MAC is routed all the same",
    input: input("host-gw", [a, b, { ...c, vtepMAC: undefined }], converged("host-gw", [a, b])),
    actions: [{ op: "addRoute", route: gwRoute(c) }],
  },
  {
    name: "the own node is never routed, even with a changed address",
    input: input("host-gw", [{ ...a, publicIP: "192.168.77.99" }, b], converged("host-gw", [a, b])),
    actions: [],
  },
  {
    name: "host-gw, first start: a route per node via its IP on the uplink, no device",
    input: input("host-gw", [a, b, c]),
    actions: [
      { op: "addRoute", route: gwRoute(b) },
      { op: "addRoute", route: gwRoute(c) },
    ],
  },
  {
    name: "host-gw, a node's IP changed: its route is replaced",
    input: input(
      "host-gw",
      [a, b, { ...c, publicIP: "192.168.77.33" }],
      converged("host-gw", [a, b, c]),
    ),
    actions: [
      {
        op: "replaceRoute",
        route: { ...gwRoute(c), gateway: "192.168.77.33" },
        was: gwRoute(c),
      },
    ],
  },
  {
    name: "host-gw, a removed node's route goes",
    input: input("host-gw", [a, b], converged("host-gw", [a, b, c])),
    actions: [{ op: "deleteRoute", route: gwRoute(c) }],
  },
  {
    name: "switched from vxlan to host-gw: the device goes and the routes move to the uplink",
    input: input("host-gw", [a, b], converged("vxlan", [a, b])),
    actions: [
      { op: "deleteLink", name: "skiff.1", reason: "not vxlan" },
      { op: "addRoute", route: gwRoute(b) },
    ],
  },
  {
    name: "vxlan, the device's MTU drifted and it is down: set back",
    input: input("vxlan", [a, b], {
      ...converged("vxlan", [a, b]),
      link: { ...link, mtu: 1500, up: false },
    }),
    actions: [{ op: "setLink", name: "skiff.1", mtu: 1450 }],
  },
  {
    name: "vxlan, the device has a stray address: it goes, ours is added",
    input: input("vxlan", [a, b], {
      ...converged("vxlan", [a, b]),
      link: { ...link, addresses: ["10.244.7.0/32"] },
    }),
    actions: [
      { op: "addAddress", dev: "skiff.1", address: "10.244.1.0/32" },
      { op: "deleteAddress", dev: "skiff.1", address: "10.244.7.0/32" },
    ],
  },
  {
    name: "vxlan, the device's local IP changed: made again, its entries added afresh",
    input: input("vxlan", [a, b], {
      ...converged("vxlan", [a, b]),
      link: { ...link, local: "192.168.77.100" },
    }),
    actions: [
      {
        op: "deleteLink",
        name: "skiff.1",
        reason: "its VNI, local IP, port, uplink or learning changed",
      },
      { op: "createLink", link },
      { op: "addFdb", fdb: vxFdb(b) },
      { op: "addNeighbour", neighbour: vxNeighbour(b) },
      { op: "addRoute", route: vxRoute(b) },
    ],
  },
  {
    name: "nodes outside the cluster CIDR, overlapping ours, or on another backend are skipped",
    input: input("vxlan", [
      a,
      { ...b, podCIDR: "192.168.0.0/24" },
      { ...c, podCIDR: "10.244.1.0/25" },
      { name: "d", podCIDR: "10.244.4.0/24", publicIP: "192.168.77.4", backend: "host-gw" },
    ]),
    actions: [{ op: "createLink", link }],
    skipped: [
      "b: podCIDR 192.168.0.0/24 is not a subnet of the cluster CIDR 10.244.0.0/16",
      "c: podCIDR 10.244.1.0/25 overlaps another node's",
      "d: its agent runs the host-gw backend, this one vxlan",
    ],
  },
  {
    name: "a route of ours to a subnet no node has is deleted",
    input: input("host-gw", [a, b], {
      ...converged("host-gw", [a, b]),
      routes: [
        ...converged("host-gw", [a, b]).routes,
        gwRoute({ ...c, podCIDR: "10.244.200.0/24" }),
      ],
    }),
    actions: [{ op: "deleteRoute", route: gwRoute({ ...c, podCIDR: "10.244.200.0/24" }) }],
  },
];

for (const tc of cases) {
  test(tc.name, () => {
    const plan = planNetwork(tc.input);
    assert.deepEqual(plan.actions, tc.actions);
    assert.deepEqual(
      plan.skipped.map((s) => `${s.name}: ${s.reason}`),
      tc.skipped ?? [],
    );
  });
}

test("carrying out a plan on the state it came from converges: the next plan is empty", () => {
  for (const backend of ["vxlan", "host-gw"] as const) {
    const nodes = [a, b, { ...c, publicIP: "192.168.77.33" }];
    // The kernel after the plan = the desired state; planning again from it changes nothing.
    const first = planNetwork(input(backend, nodes, converged(backend, [a, b, c])));
    assert.notEqual(first.actions.length, 0);
    assert.deepEqual(planNetwork(input(backend, nodes, first.desired)).actions, []);
  }
});
