// The test harness: real etcd servers and a real apiserver on random loopback ports.
//
//   import { after, test } from "node:test";
//   import { startEtcd, startEtcdCluster } from "@skiff/testing";
//
//   test("something stored in etcd", async (t) => {
//     const etcd = await startEtcd(); // etcd.endpoints: ["http://127.0.0.1:PORT"]
//     t.after(() => etcd.stop()); // kills etcd and removes its data, even if the test fails
//   });
//
//   const cluster = await startEtcdCluster(3);
//   after(() => cluster.stop());
//   await cluster.members[0]!.stop(); // the other two keep quorum
//   await cluster.members[0]!.start(); // rejoins with the data it had
export { freePort } from "./ports.js";
export { startEtcd, startEtcdCluster } from "./etcd.js";
export type { Etcd, EtcdCluster, EtcdMember } from "./etcd.js";
export * from "./apiserver.js";
export { crdFixture } from "./crd.js";
export { eventually } from "./eventually.js";
export { spawnJsonLines, type JsonLinesChild } from "./json-lines.js";
export {
  KUBECTL_VERSIONS,
  kubectlDir,
  kubectlOnPath,
  runKubectl,
  type KubectlResult,
} from "./bundled-kubectl.js";
export { kubeconfigWithoutContext, runComponent } from "./component.js";
