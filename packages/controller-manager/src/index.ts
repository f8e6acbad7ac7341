// @skiff/controller-manager: the controllers that drive the cluster toward what its objects
// ask for, run by one manager process that leads through a Lease.
//
//   import { ControllerManager } from "@skiff/controller-manager";
//   const cm = new ControllerManager({ kubeconfig, controllers: ["*", "-namespace"], port: 0 });
//   await cm.start();
//   ...
//   await cm.stop();
export * from "./controller.js";
export * from "./manager.js";
export * from "./server.js";
export * from "./expectations.js";
export * from "./objects.js";
export * from "./errors.js";
export {
  ReplicaSetController,
  ReplicationControllerController,
  newPodForReplicaSet,
} from "./controllers/replicaset/index.js";
