#!/usr/bin/env node
// Runs the test files under the given folders (default: every package) with Node's
// test runner over the TypeScript sources. Node 20 neither finds .ts test files by
// itself nor expands a quoted glob, so the file list is built here.
import { readdirSync, statSync } from "node:fs";
import { join, relative } from "node:path";
import { spawnSync } from "node:child_process";

const root = new URL("..", import.meta.url).pathname;
const roots = process.argv.slice(2).filter((a) => !a.startsWith("-"));
const passThrough = process.argv.slice(2).filter((a) => a.startsWith("-"));

function collect(dir, out) {
  for (const name of readdirSync(dir)) {
    if (name === "node_modules" || name === "dist") continue;
    const path = join(dir, name);
    if (statSync(path).isDirectory()) collect(path, out);
    else if (/\.test\.ts$/.test(name) && /(^|\/)test\//.test(relative(root, path))) out.push(path);
  }
  return out;
}

const files = [];
for (const r of roots.length ? roots : ["packages"]) {
  const path = join(process.cwd(), r);
  if (statSync(path).isDirectory()) collect(path, files);
  else files.push(path);
}
if (files.length === 0) {
  console.error(`no test files found under ${roots.join(", ") || "packages"}`);
  process.exit(1);
}
files.sort();
const result = spawnSync(
  process.execPath,
  [
    "--conditions=source",
    "--import",
    "tsx",
    "--test",
    "--test-concurrency=" + (process.env.TEST_CONCURRENCY ?? "2"),
    ...passThrough,
    ...files,
  ],
  { stdio: "inherit", cwd: root },
);
process.exit(result.status ?? 1);
