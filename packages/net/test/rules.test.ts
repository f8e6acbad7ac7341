// skiff-net's netfilter rules in a network namespace of their own: written once, left alone
// when right, the masquerading chain removed with --ip-masq=false, everything by --cleanup.
import { test } from "node:test";
import assert from "node:assert/strict";
import { runTs, scratchNetns, sh } from "./topology.js";

const netns = "sknt-rules";
const opts = { clusterCIDR: "10.244.0.0/16", podCIDR: "10.244.1.0/24" };

/** Calls the package's rules functions inside the namespace (netfilter is per namespace). */
async function inNetns(call: string): Promise<unknown> {
  const script = `import("@skiff/net").then(async (net) => {
    process.stdout.write(JSON.stringify(await net.${call}));
  })`;
  const out = await runTs(netns, ["-e", script]);
  return JSON.parse(out);
}

const saved = async (): Promise<string> =>
  (await sh("ip", "netns", "exec", netns, "iptables-save"))
    .split("\n")
    .filter((l) => /SKIFF/.test(l))
    .join("\n");

scratchNetns(netns);

test("rules are written once, then left alone; --ip-masq=false drops only the NAT chain", async () => {
  assert.deepEqual(await inNetns(`ensureRules(${JSON.stringify({ ...opts, ipMasq: true })})`), [
    "SKIFF-NET-POSTRTG",
    "POSTROUTING → SKIFF-NET-POSTRTG",
    "SKIFF-NET-FWD",
    "FORWARD → SKIFF-NET-FWD",
  ]);
  const written = await saved();
  assert.match(written, /-A SKIFF-NET-POSTRTG -s 10\.244\.0\.0\/16 -d 10\.244\.0\.0\/16 -j RETURN/);
  assert.match(
    written,
    /-A FORWARD -m comment --comment "skiff-net: forward pod traffic" -j SKIFF-NET-FWD/,
  );
  assert.deepEqual(await inNetns(`ensureRules(${JSON.stringify({ ...opts, ipMasq: true })})`), []);
  assert.equal(await saved(), written);

  assert.deepEqual(await inNetns(`ensureRules(${JSON.stringify({ ...opts, ipMasq: false })})`), [
    "-SKIFF-NET-POSTRTG",
  ]);
  const noMasq = await saved();
  assert.doesNotMatch(noMasq, /POSTRTG/);
  assert.match(noMasq, /-A SKIFF-NET-FWD -s 10\.244\.0\.0\/16 -j ACCEPT/);

  assert.deepEqual(await inNetns("removeRules()"), ["SKIFF-NET-FWD"]);
  assert.equal(await saved(), "");
});
