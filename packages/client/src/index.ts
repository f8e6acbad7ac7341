// @skiff/client: the client-go of Skiff — REST client, watch, informers and listers,
// work queue, leader election, event recorder and kubeconfig loading.
//
//   import { resourceInfo } from "@skiff/api/light";
//   import { RestClient, loadClientConfig, SharedInformerFactory, WorkQueue } from "@skiff/client";
//
//   const client = new RestClient(loadClientConfig({ kubeconfig: argv.kubeconfig }));
//   const pods = resourceInfo("", "v1", "pods");
//   await client.resource(pods).namespace("default").get("web-0");   // throws ApiError (isNotFound)
//
//   const factory = new SharedInformerFactory(client, { resyncPeriodMs: 30_000 });
//   const informer = factory.forResource(pods);
//   const queue = new WorkQueue<string>();
//   informer.addEventHandler({ add: (p) => queue.add(metaNamespaceKey(p)) });
//   factory.start();
//   await factory.waitForCacheSync();
//   for (;;) {
//     const { key, shutdown } = await queue.get();
//     if (shutdown) break;
//     try { await sync(key); queue.forget(key); } catch { queue.addRateLimited(key); }
//     finally { queue.done(key); }
//   }
export * from "./types.js";
export * from "./errors.js";
export * from "./log.js";
export * from "./kubeconfig.js";
export * from "./ratelimit.js";
export * from "./watch.js";
export * from "./rest.js";
export * from "./store.js";
export * from "./reflector.js";
export * from "./informer.js";
export * from "./workqueue.js";
export * from "./leaderelection.js";
export * from "./events.js";
export * from "./metrics-endpoint.js";
