// The Summary API's figures: parsing the host's /proc files, and pods summed from their
// containers with the network taken from the sandbox (on the simulated runtime).
import assert from "node:assert/strict";
import { tmpdir } from "node:os";
import { test } from "node:test";
import { startContainers } from "./harness.js";
import type { Pod } from "../src/objects.js";
import { SimulatedRuntime } from "../src/runtime/simulated.js";
import { SummaryProvider, cpuJiffies, parseMeminfo, parseNetDev } from "../src/stats.js";

test("node cpu time counts every busy jiffy of /proc/stat, not idle or iowait", () => {
  const stat =
    "cpu  100 5 50 9000 40 3 2 1 7 0\ncpu0 50 2 25 4500 20 1 1 0 0 0\ncpu1 50 3 25 4500 20 2 1 1 7 0\n";
  assert.deepEqual(cpuJiffies(stat), {
    busy: 100 + 5 + 50 + 3 + 2 + 1,
    total: 100 + 5 + 50 + 3 + 2 + 1 + 9000 + 40,
    cpus: 2,
  });
  assert.equal(cpuJiffies("").busy, 0);
});

test("/proc/meminfo values are read in bytes", () => {
  const m = parseMeminfo(
    "MemTotal:       16318496 kB\nInactive(file):  1024 kB\nHugePages_Total: 0\n",
  );
  assert.equal(m.MemTotal, 16318496 * 1024);
  assert.equal(m["Inactive(file)"], 1024 * 1024);
  assert.equal(m.HugePages_Total, 0);
});

test("/proc/net/dev gives bytes and errors per interface", () => {
  const text = [
    "Inter-|   Receive                                                |  Transmit",
    " face |bytes    packets errs drop fifo frame compressed multicast|bytes    packets errs drop fifo colls carrier compressed",
    "    lo:    1000      10    0    0    0     0          0         0     1000      10    0    0    0     0       0          0",
    "  eth0: 5000000    4000    2    0    0     0          0         0   700000     900    1    0    0     0       0          0",
  ].join("\n");
  assert.deepEqual(parseNetDev(text), [
    { name: "lo", rxBytes: 1000, rxErrors: 0, txBytes: 1000, txErrors: 0 },
    { name: "eth0", rxBytes: 5000000, rxErrors: 2, txBytes: 700000, txErrors: 1 },
  ]);
});

test("a pod's figures are its running containers' summed, its network its sandbox's", async () => {
  const rt = new SimulatedRuntime({});
  await rt.ensurePodNetwork({ subnet: "10.244.9.0/24" });
  const ref = { uid: "bbbbbbbb-0000-0000-0000-000000000001", namespace: "shop", name: "web" };
  const containers = [
    { name: "a", image: "sim/a:1" },
    { name: "b", image: "sim/b:1" },
  ];
  const pod: Pod = {
    metadata: ref,
    spec: { containers },
    status: { startTime: "2026-01-01T00:00:00Z" },
  };
  const sandboxId = await rt.runPodSandbox({
    pod: ref,
    attempt: 0,
    hostname: "web",
    hostNetwork: false,
    dns: { servers: [], searches: [], options: [] },
    portMappings: [],
  });
  await startContainers(rt, ref, sandboxId, containers);
  const provider = new SummaryProvider({
    nodeName: "n1",
    runtime: rt,
    rootDir: tmpdir(),
    pods: () => [pod],
  });
  const summary = await provider.summary();
  assert.equal(summary.node.nodeName, "n1");
  assert.ok(summary.node.fs && summary.node.fs.capacityBytes > 0);
  const [p] = summary.pods;
  assert.ok(p);
  assert.deepEqual(p.podRef, ref);
  assert.equal(p.startTime, "2026-01-01T00:00:00Z");
  assert.deepEqual(
    p.containers.map((c) => c.name),
    ["a", "b"],
  );
  const [a, b] = p.containers;
  assert.equal(
    p.memory.workingSetBytes,
    (a?.memory.workingSetBytes ?? 0) + (b?.memory.workingSetBytes ?? 0),
  );
  assert.equal(p.cpu.usageNanoCores, 2_000_000);
  assert.equal(p.network?.name, "eth0");
  assert.equal(p.network?.interfaces.length, 1);
});
