// Bad flags of skiff-proxy: one line naming the flag, exit code 2, before
// anything is touched.
import { test } from "node:test";
import assert from "node:assert/strict";
import { runComponent } from "@skiff/testing";

const run = (main: string, ...args: string[]) => runComponent(new URL(main, import.meta.url), args);

test("a duration flag that is not a duration is a one-line usage error naming the flag", () => {
  const proxy = run("../src/main.ts", "--sync-period=abc");
  assert.equal(proxy.status, 2);
  assert.equal(
    proxy.stderr,
    'skiff-proxy: --sync-period: invalid duration "abc" (examples: 500ms, 1s, 1m30s)\n',
  );
});
