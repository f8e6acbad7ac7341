// Bad flags of skiff-net: one line naming the flag, exit code 2, before anything is touched.
import { test } from "node:test";
import assert from "node:assert/strict";
import { runComponent } from "@skiff/testing";

const run = (...args: string[]) => runComponent(new URL("../src/main.ts", import.meta.url), args);

const cases: [string[], RegExp][] = [
  [
    ["--resync-period=abc"],
    /^skiff-net: --resync-period: invalid duration "abc" \(examples: 500ms, 1s, 1m30s\)\n$/,
  ],
  [
    ["--backend=udp"],
    /^skiff-net: Invalid values: Argument: backend, Given: "udp", Choices: "vxlan", "host-gw"\n$/,
  ],
  [["--vxlan-vni=0"], /^skiff-net: --vxlan-vni: must be an integer from 1 to 16777215, not "0"\n$/],
  [
    ["--vxlan-port=http"],
    /^skiff-net: --vxlan-port: must be an integer from 1 to 65535, not "http"\n$/,
  ],
  [["--cluster-cidr=10.244.0.0"], /^skiff-net: --cluster-cidr: not an IPv4 CIDR: "10.244.0.0"\n$/],
  [["--bogus"], /^skiff-net: Unknown argument: bogus\n$/],
];

for (const [args, stderr] of cases) {
  test(`${args.join(" ")} is a one-line usage error with exit code 2`, () => {
    const r = run(...args);
    assert.equal(r.status, 2, r.stderr);
    assert.match(r.stderr, stderr);
    assert.equal(r.stderr.trim().split("\n").length, 1);
  });
}
