// Bad flags of skiff-dns: one line naming the flag, exit code 2, before anything listens.
import { test } from "node:test";
import assert from "node:assert/strict";
import { runComponent } from "@skiff/testing";

const run = (...args: string[]) => runComponent(new URL("../src/main.ts", import.meta.url), args);

test("a port out of range is a one-line usage error naming the flag", () => {
  const r = run("--dns-port=70000");
  assert.equal(r.status, 2);
  assert.equal(
    r.stderr,
    'skiff-dns: --dns-port: invalid port "70000" (a whole number from 0 to 65535)\n',
  );
});

test("a TTL that is not a number and an unknown flag are usage errors too", () => {
  const ttl = run("--ttl=ten");
  assert.equal(ttl.status, 2);
  assert.equal(
    ttl.stderr,
    'skiff-dns: --ttl: invalid TTL "ten" (a whole number from 0 to 2147483647)\n',
  );
  const unknown = run("--dns-prot=53");
  assert.equal(unknown.status, 2);
  assert.match(unknown.stderr, /^skiff-dns: Unknown arguments?: dns-prot.*\n$/);
});
