// @skiff/skiffctl: the kubectl-style CLI, callable in-process.
//
//   import { run } from "@skiff/skiffctl";
//   const code = await run(["get", "pods", "-o", "wide"], { stdout: process.stdout, stderr: process.stderr });
export { run } from "./main.js";
export type { IO } from "./context.js";
export { threeWayPatch } from "./commands/apply.js";
export { alignRows, jsonpath, tabwrite } from "./printers.js";
export { daemonSetStatus, deploymentStatus } from "./commands/rollout.js";
