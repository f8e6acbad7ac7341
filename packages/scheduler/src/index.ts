// @skiff/scheduler: binds pending pods to nodes, as kube-scheduler does.
//
//   import { Scheduler } from "@skiff/scheduler";
//   const scheduler = new Scheduler({ client, schedulerName: "default-scheduler" });
//   await scheduler.start();          // informers synced, scheduling loop running
//   ...
//   await scheduler.stop();
export * from "./types.js";
export * from "./errors.js";
export * from "./framework/nodeinfo.js";
export * from "./framework/filters.js";
export * from "./framework/scores.js";
export * from "./framework/schedule.js";
export * from "./cache.js";
export * from "./queue.js";
export * from "./scheduler.js";
export * from "./metrics.js";
export * from "./server.js";
