// @skiff/kubelet: runs a node's pods as Docker containers: the container runtime (Docker, and
// a simulated one for scale benchmarks), the pure decisions of what to do to a pod and what
// its status is, and the API wiring (node registration, pod workers, PLEG, status, the
// kubelet's HTTPS API).
//
//   import { DockerRuntime, computePodActions, hashContainer } from "@skiff/kubelet";
//   const runtime = new DockerRuntime({ networkName: "skiff-pods" });
//   await runtime.ensurePodNetwork({ subnet: node.spec.podCIDR });
//   const plan = computePodActions(pod, {
//     sandboxes: await runtime.listPodSandboxes({ podUid: pod.metadata.uid }),
//     containers: await runtime.listContainers({ podUid: pod.metadata.uid }),
//     now: Date.now(),
//   });
export type * from "./objects.js";
export * from "./errors.js";
export * from "./container-hash.js";
export * from "./pod-actions.js";
export * from "./pod-status.js";
export * from "./pod-dns.js";
export * from "./runtime/runtime.js";
export { DockerRuntime, DEFAULT_NETWORK_NAME, DEFAULT_SANDBOX_IMAGE } from "./runtime/docker.js";
export type { DockerRuntimeOptions } from "./runtime/docker.js";
export { SimulatedRuntime } from "./runtime/simulated.js";
export type { SimulatedBehaviour, SimulatedRuntimeOptions } from "./runtime/simulated.js";
export { Kubelet } from "./kubelet.js";
export { defaultPullPolicy } from "./images.js";
export type { KubeletOptions } from "./kubelet.js";
export { NodeAgent, KUBELET_VERSION, parseTaints } from "./node.js";
export { startKubelet } from "./start.js";
export type { RunningKubelet, StartKubeletOptions } from "./start.js";
