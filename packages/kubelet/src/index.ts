// @skiff/kubelet: runs a node's pods as Docker containers. This half holds the container
// runtime (Docker, and a simulated one for scale benchmarks) and the pure decision of what to
// do to a pod; the API wiring (pod workers, PLEG, status) builds on it.
//
//   import { DockerRuntime, computePodActions, hashContainer } from "@skiff/kubelet";
//   const runtime = new DockerRuntime({ networkName: "skiff-pods" });
//   await runtime.ensurePodNetwork({ subnet: node.spec.podCIDR });
//   const plan = computePodActions(pod, {
//     sandboxes: await runtime.listPodSandboxes({ podUid: pod.metadata.uid }),
//     containers: await runtime.listContainers({ podUid: pod.metadata.uid }),
//     now: Date.now(),
//   });
export * from "./types.js";
export * from "./errors.js";
export * from "./container-hash.js";
export * from "./pod-actions.js";
export * from "./runtime/runtime.js";
export { DockerRuntime, DEFAULT_NETWORK_NAME, DEFAULT_SANDBOX_IMAGE } from "./runtime/docker.js";
export type { DockerRuntimeOptions } from "./runtime/docker.js";
export { SimulatedRuntime } from "./runtime/simulated.js";
export type { SimulatedBehaviour, SimulatedRuntimeOptions } from "./runtime/simulated.js";
