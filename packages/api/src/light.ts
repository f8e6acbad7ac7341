// "@skiff/api/light": what clients and controllers use at run time — the resource table,
// quantities, durations, times, pods, cron schedules, quota usage, label and node selectors,
// custom resources' ResourceInfo — without the schemas, defaults, validation, CEL, OpenAPI and
// protobuf of the full "@skiff/api" (typebox, cel-js and protobufjs: ~25 MB of RSS in each
// process that loads them; docs/benchmarks.md, control-plane memory). Everything here is also
// exported by "@skiff/api".
export * from "./guards.js";
export * from "./resources.js";
export * from "./quantity.js";
export * from "./duration.js";
export * from "./time.js";
export * from "./pods.js";
export * from "./cron.js";
export * from "./quota-usage.js";
export * from "./selectors.js";
export { customResourceInfos, compareKubeVersions } from "./apiextensions/serving.js";
// The types of the whole API (erased at run time: nothing more is loaded).
export type * from "./index.js";
