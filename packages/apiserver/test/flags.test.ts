// Bad flags of skiff-apiserver: one line naming the flag, exit code 2, before
// anything is touched.
import { test } from "node:test";
import assert from "node:assert/strict";
import { runComponent } from "@skiff/testing";

const run = (main: string, ...args: string[]) => runComponent(new URL(main, import.meta.url), args);

test("a bad --event-ttl is a one-line usage error naming the flag", () => {
  const apiserver = run("../src/main.ts", "--event-ttl=1x", "--etcd-servers=x");
  assert.equal(apiserver.status, 2);
  assert.equal(
    apiserver.stderr,
    'skiff-apiserver: --event-ttl: invalid duration "1x" (examples: 30m, 1h0m0s)\n',
  );
});

test("a bad --etcd-compaction-interval is a one-line usage error naming the flag", () => {
  const apiserver = run("../src/main.ts", "--etcd-compaction-interval=often", "--etcd-servers=x");
  assert.equal(apiserver.status, 2);
  assert.equal(
    apiserver.stderr,
    'skiff-apiserver: --etcd-compaction-interval: invalid duration "often" (examples: 5m, 0)\n',
  );
});

test("a bad --max-requests-inflight is quoted as given, not as NaN", () => {
  for (const [flag, value] of [
    ["--max-requests-inflight", "abc"],
    ["--max-mutating-requests-inflight", "-1"],
  ]) {
    const apiserver = run("../src/main.ts", `${flag}=${value}`, "--etcd-servers=x");
    assert.equal(apiserver.status, 2);
    assert.equal(
      apiserver.stderr,
      `skiff-apiserver: ${flag}: invalid number of seats "${value}" (a whole number ≥ 0)\n`,
    );
  }
});

test("a bad --authorization-mode is a one-line usage error naming the mode", () => {
  const unknown = run("../src/main.ts", "--authorization-mode=Node,ABAC", "--etcd-servers=x");
  assert.equal(unknown.status, 2);
  assert.equal(
    unknown.stderr,
    'skiff-apiserver: --authorization-mode: unknown mode "ABAC" (supported: AlwaysAllow, AlwaysDeny, Node, RBAC)\n',
  );
  const twice = run("../src/main.ts", "--authorization-mode=RBAC,RBAC", "--etcd-servers=x");
  assert.equal(twice.status, 2);
  assert.equal(twice.stderr, 'skiff-apiserver: --authorization-mode: "RBAC" is given twice\n');
});
