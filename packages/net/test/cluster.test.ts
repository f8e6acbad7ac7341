// skiff-net end to end, per backend: three "nodes" made of network namespaces (topology.ts),
// the real skiff-net program in each, against a real apiserver, with real pod traffic.
import { after, before, describe, test } from "node:test";
import assert from "node:assert/strict";
import type { ChildProcess } from "node:child_process";
import { createInterface } from "node:readline";
import { startApiserver } from "@skiff/testing";
import type { TestApiserver } from "@skiff/testing";
import {
  buildTopology,
  eventually,
  runTs,
  sh,
  startEchoAddress,
  tsNode,
  whoAmI,
} from "./topology.js";
import type { SimNode, Topology } from "./topology.js";

const main = new URL("../src/main.ts", import.meta.url).pathname;
const echoPort = 7000;

let api: TestApiserver;
before(async () => {
  api = await startApiserver();
});
after(async () => {
  await api?.stop();
});

interface Agent {
  child: ChildProcess;
  logs: { msg?: string; [k: string]: unknown }[];
  exited: Promise<void>;
}

function startAgent(topo: Topology, node: SimNode, backend: string): Agent {
  const child = topo.spawnIn(node.netns, [
    ...tsNode,
    main,
    `--kubeconfig=${api.kubeconfig}`,
    `--node-name=${node.name}`,
    `--backend=${backend}`,
    "--resync-period=1s",
    "--log-level=debug",
  ]);
  const logs: Agent["logs"] = [];
  createInterface({ input: child.stdout! }).on("line", (line) => {
    try {
      logs.push(JSON.parse(line) as Agent["logs"][number]);
    } catch {
      logs.push({ msg: line });
    }
  });
  const exited = new Promise<void>((resolve) => child.once("exit", () => resolve()));
  return { child, logs, exited };
}

async function stopAgent(agent: Agent): Promise<void> {
  agent.child.kill("SIGTERM");
  await agent.exited;
}

const ourRoutes = async (node: SimNode): Promise<string[]> =>
  (await sh("ip", "-n", node.netns, "route", "show", "proto", "83")).split("\n").filter(Boolean);

/** Everything skiff-net owns in a node, as text: device, routes, neighbours, FDB, rules. */
async function kernelState(node: SimNode): Promise<string> {
  const parts = [
    await sh("ip", "-n", node.netns, "link", "show"),
    await sh("ip", "-n", node.netns, "-d", "link", "show", "skiff.1").catch(() => ""),
    await sh("ip", "-n", node.netns, "route", "show"),
    await sh("ip", "-n", node.netns, "neigh", "show", "nud", "permanent"),
    await sh("bridge", "-n", node.netns, "fdb", "show", "dev", "skiff.1").catch(() => ""),
    await sh("ip", "netns", "exec", node.netns, "iptables-save"),
  ];
  return parts
    .join("\n")
    .split("\n")
    .filter((l) => !l.startsWith("#"))
    .map((l) => l.replace(/\[\d+:\d+\]/, ""))
    .join("\n");
}

async function createNode(node: SimNode): Promise<void> {
  const res = await api.request("POST", "/api/v1/nodes", {
    apiVersion: "v1",
    kind: "Node",
    metadata: { name: node.name },
    spec: { podCIDR: node.podCIDR, podCIDRs: [node.podCIDR] },
    status: { addresses: [{ type: "InternalIP", address: node.ip }] },
  });
  assert.equal(res.status, 201, res.text);
}

for (const backend of ["vxlan", "host-gw"] as const) {
  describe(`${backend} backend`, { timeout: 90_000 }, () => {
    let topo: Topology;
    const agents = new Map<string, Agent>();
    let n1: SimNode, n2: SimNode, n3: SimNode;

    before(async () => {
      topo = await buildTopology(backend === "vxlan" ? "sknt-vx" : "sknt-gw", 3, api.port);
      [n1, n2, n3] = topo.nodes as [SimNode, SimNode, SimNode];
      for (const n of topo.nodes) {
        await createNode(n);
        agents.set(n.name, startAgent(topo, n, backend));
        startEchoAddress(topo, n.pod, echoPort);
      }
      startEchoAddress(topo, topo.switchNetns, echoPort);
      for (const n of topo.nodes) {
        const routed = async () => (await ourRoutes(n)).length === 2;
        await eventually(`${n.name}'s routes`, routed, 30_000);
        // A sync writes the Node's annotations last, after routes and rules.
        await eventually(`${n.name}'s annotations`, async () => {
          const res = await api.request("GET", `/api/v1/nodes/${n.name}`);
          return res.json?.metadata?.annotations?.["net.skiff.io/backend-type"] === backend;
        });
      }
    });
    after(async () => {
      await topo?.destroy();
      for (const n of topo?.nodes ?? [])
        await api.request("DELETE", `/api/v1/nodes/${n.name}`).catch(() => undefined);
    });

    test("each node publishes its backend, address (and VTEP MAC) on its Node", async () => {
      const res = await api.request("GET", `/api/v1/nodes/${n2.name}`);
      const ann =
        (res.json as { metadata: { annotations?: Record<string, string> } }).metadata.annotations ??
        {};
      assert.equal(ann["net.skiff.io/backend-type"], backend);
      assert.equal(ann["net.skiff.io/public-ip"], n2.ip);
      if (backend === "vxlan") {
        const link = await sh("ip", "-n", n2.netns, "link", "show", "skiff.1");
        assert.match(link, new RegExp(`link/ether ${ann["net.skiff.io/vtep-mac"]} `));
        assert.match(link, / mtu 1450 /, "MTU is the uplink's 1500 - 50");
      } else {
        assert.equal(ann["net.skiff.io/vtep-mac"], undefined);
      }
    });

    test("a pod reaches pods on the other nodes by pod IP, and the server sees the caller's pod IP", async () => {
      assert.equal(await whoAmI(topo, n1.pod, n2.podIP, echoPort), n1.podIP);
      assert.equal(await whoAmI(topo, n1.pod, n3.podIP, echoPort), n1.podIP);
      assert.equal(await whoAmI(topo, n3.pod, n2.podIP, echoPort), n3.podIP);
    });

    test("pod → outside traffic is masqueraded to the node's IP; a node reaches remote pods", async () => {
      assert.equal(await whoAmI(topo, n1.pod, topo.outsideIP, echoPort), n1.ip);
      assert.notEqual(await whoAmI(topo, n1.netns, n2.podIP, echoPort), "");
    });

    test("drift is repaired within a resync: a flushed chain, a deleted route", async () => {
      const before = await kernelState(n2);
      const inN2 = (...args: string[]) => sh("ip", "netns", "exec", n2.netns, ...args);
      await inN2("iptables", "-w", "-t", "nat", "-F", "SKIFF-NET-POSTRTG");
      await inN2("iptables", "-w", "-F", "SKIFF-NET-FWD");
      await sh("ip", "-n", n2.netns, "route", "del", n1.podCIDR);
      await eventually("the repair", async () => (await kernelState(n2)) === before, 10_000);
      assert.equal(await whoAmI(topo, n2.pod, n1.podIP, echoPort), n2.podIP);
    });

    test("a restarted agent changes nothing that is already right", async () => {
      const before = await kernelState(n1);
      const nodeBefore = await api.request("GET", `/api/v1/nodes/${n1.name}`);
      await stopAgent(agents.get(n1.name)!);
      const again = startAgent(topo, n1, backend);
      agents.set(n1.name, again);
      await eventually("the first sync", async () =>
        again.logs.some((l) => l.msg === "first sync done"),
      );
      const syncs = again.logs.filter(
        (l) => l.msg === "converged" || l.msg === "nothing to change",
      );
      assert.deepEqual(
        syncs.map((l) => l.msg),
        syncs.map(() => "nothing to change"),
        JSON.stringify(syncs),
      );
      assert.equal(await kernelState(n1), before);
      const nodeAfter = await api.request("GET", `/api/v1/nodes/${n1.name}`);
      assert.equal(
        nodeAfter.json.metadata.resourceVersion,
        nodeBefore.json.metadata.resourceVersion,
      );
    });

    test("a deleted Node's route (and neighbour and FDB entry) disappear from the others", async () => {
      const ann = (await api.request("GET", `/api/v1/nodes/${n3.name}`)).json.metadata
        .annotations as Record<string, string>;
      const mac = ann["net.skiff.io/vtep-mac"];
      await stopAgent(agents.get(n3.name)!);
      assert.equal((await api.request("DELETE", `/api/v1/nodes/${n3.name}`)).status, 200);
      for (const n of [n1, n2]) {
        await eventually(
          `${n.name} to drop ${n3.podCIDR}`,
          async () => (await ourRoutes(n)).length === 1,
        );
        assert.doesNotMatch(
          (await ourRoutes(n)).join("\n"),
          new RegExp(n3.podCIDR.replace("/", "\\/")),
        );
        if (backend === "vxlan") {
          assert.doesNotMatch(
            await sh("bridge", "-n", n.netns, "fdb", "show", "dev", "skiff.1"),
            new RegExp(mac!),
          );
          assert.doesNotMatch(
            await sh("ip", "-n", n.netns, "neigh", "show", "dev", "skiff.1"),
            /10\.244\.3\.0 /,
          );
        }
      }
      assert.equal(await whoAmI(topo, n1.pod, n2.podIP, echoPort), n1.podIP);
    });

    test("--cleanup removes every device, route, entry and rule skiff-net made, and exits 0", async () => {
      for (const n of [n1, n2]) await stopAgent(agents.get(n.name)!);
      await runTs(n1.netns, [main, "--cleanup"]);
      assert.deepEqual(await ourRoutes(n1), []);
      assert.doesNotMatch(await sh("ip", "-n", n1.netns, "link", "show"), /skiff\./);
      assert.doesNotMatch(await sh("ip", "netns", "exec", n1.netns, "iptables-save"), /SKIFF/);
      // The other node, not cleaned, still has its own.
      assert.equal((await ourRoutes(n2)).length, 1);
    });
  });
}
