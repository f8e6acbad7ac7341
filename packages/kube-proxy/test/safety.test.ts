// The safety net's rules, in a network namespace made for the purpose (deleted at the end),
// with a veth as its "uplink". No packet is sent.
import { after, before, test } from "node:test";
import assert from "node:assert/strict";
import { exec, execInNetns, mustExec } from "../src/exec.js";
import { SafetyNet } from "../src/safety.js";

const netns = `skps-${process.pid}`;
const inNetns = execInNetns(netns);
const sh = (cmd: string, ...args: string[]): Promise<string> => mustExec(inNetns, cmd, args);

before(async () => {
  await mustExec(exec, "ip", ["netns", "add", netns]);
  await sh("ip", "link", "add", "up0", "type", "veth", "peer", "name", "up1");
});

after(async () => {
  await exec("ip", ["netns", "del", netns]);
});

test("only the service range is dropped on the uplink; pod traffic to other nodes may leave", async () => {
  const safety = new SafetyNet({ clusterCIDR: "10.244.0.0/16", uplink: "up0", exec: inNetns });
  await safety.install();
  const rules = await sh("iptables", "-w", "-S", "SKIFF-SAFETY");
  assert.match(rules, /-A SKIFF-SAFETY -d 10\.96\.0\.0\/12 -o up0 -j DROP/);
  assert.doesNotMatch(rules, /10\.244\.0\.0\/16/);
  // Both ranges still end on the drop device when nothing more specific routes them.
  assert.match(await sh("ip", "route", "get", "10.96.1.1"), /dev skiff-drop0/);
  assert.match(await sh("ip", "route", "get", "10.244.9.9"), /dev skiff-drop0/);
  await safety.cleanup();
  assert.equal((await inNetns("iptables", ["-w", "-S", "SKIFF-SAFETY"])).code, 1);
});
