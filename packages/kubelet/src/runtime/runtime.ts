// ContainerRuntime: the operations the kubelet needs from a container engine (the role the CRI
// plays in Kubernetes), so that pod logic never sees Docker. Implementations: DockerRuntime
// (real) and SimulatedRuntime (in memory, for scale benchmarks only).
//
// Contract callers may rely on:
// - Every object a runtime creates carries the labels below, so `listPodSandboxes` and
//   `listContainers` rebuild the whole actual state from the engine alone (adoption after a
//   kubelet restart); nothing is remembered only in memory.
// - List results are newest first (by creation time, then attempt).
// - Stopping, removing and listing are idempotent: an object already gone is not an error.
import type { Readable, Writable } from "node:stream";
import type { Container, PodSpec } from "@skiff/api";

export const LABEL_POD_UID = "io.skiff.pod.uid";
export const LABEL_POD_NAMESPACE = "io.skiff.pod.namespace";
export const LABEL_POD_NAME = "io.skiff.pod.name";
export const LABEL_CONTAINER_NAME = "io.skiff.container.name";
/** The restart count of a container (Kubernetes' `attempt`); for a sandbox, its own attempt. */
export const LABEL_ATTEMPT = "io.skiff.container.attempt";
/** The spec hash a container was created from: a different hash means "restart it". */
export const LABEL_HASH = "io.skiff.container.hash";
export const LABEL_TYPE = "io.skiff.type";
/**
 * Which kubelet owns an object: its root directory (unique per kubelet on a host). Several
 * kubelets — two clusters, a cluster and the test suites — share one Docker engine, and
 * each adopts, garbage-collects and cleans up only its own.
 */
export const LABEL_KUBELET = "io.skiff.kubelet.root-dir";
/** The container name recorded for sandboxes, as Kubernetes' dockershim did. */
export const SANDBOX_CONTAINER_NAME = "POD";

export interface PodRef {
  uid: string;
  namespace: string;
  name: string;
}

/** The labels every sandbox (container name "POD") and container of a runtime carries. */
export function runtimeLabels(
  pod: PodRef,
  containerName: string,
  attempt: number,
  hash: string,
  type: "sandbox" | "container",
): Record<string, string> {
  return {
    [LABEL_POD_UID]: pod.uid,
    [LABEL_POD_NAMESPACE]: pod.namespace,
    [LABEL_POD_NAME]: pod.name,
    [LABEL_CONTAINER_NAME]: containerName,
    [LABEL_ATTEMPT]: String(attempt),
    [LABEL_HASH]: hash,
    [LABEL_TYPE]: type,
  };
}

/** The pod an object belongs to, read back from its labels. */
export function podOfLabels(labels: Record<string, string>): PodRef {
  return {
    uid: labels[LABEL_POD_UID] ?? "",
    namespace: labels[LABEL_POD_NAMESPACE] ?? "",
    name: labels[LABEL_POD_NAME] ?? "",
  };
}

/** The engine-side name of a container: `skiff_<container>_<pod>_<ns>_<uid8>_<attempt>`. */
export function runtimeContainerName(pod: PodRef, container: string, attempt: number): string {
  return `skiff_${container}_${pod.name}_${pod.namespace}_${pod.uid.slice(0, 8)}_${attempt}`;
}

export interface PodNetworkConfig {
  /** The node's podCIDR, e.g. "10.244.1.0/24"; the gateway is its first address. */
  subnet: string;
  /**
   * Whether the engine masquerades traffic leaving the node from pods (Docker's default: yes).
   * The kubelet says no: pods on other nodes must see a pod's own address, and the network
   * agent (skiff-net) masquerades only what leaves the cluster.
   */
  ipMasquerade?: boolean;
  /** The pod interfaces' MTU (default: the engine's, 1500); lower under an overlay. */
  mtu?: number;
}

export interface PodNetwork {
  name: string;
  id: string;
  subnet: string;
  gateway: string;
}

export interface DNSConfig {
  servers: string[];
  searches: string[];
  options: string[];
}

export interface PortMapping {
  containerPort: number;
  hostPort: number;
  hostIP?: string;
  protocol: "TCP" | "UDP" | "SCTP";
}

export interface SandboxConfig {
  pod: PodRef;
  attempt: number;
  hostname: string;
  hostNetwork: boolean;
  hostIPC?: boolean;
  hostPID?: boolean;
  /** Always set explicitly: an engine left to itself may pick a public DNS server. */
  dns: DNSConfig;
  portMappings: PortMapping[];
  /** The pod's hostAliases: extra /etc/hosts entries its containers share. */
  hostAliases?: { ip: string; hostnames?: string[] }[];
}

export type SandboxState = "ready" | "notready";

export interface SandboxStatus {
  id: string;
  pod: PodRef;
  attempt: number;
  state: SandboxState;
  createdAt: string;
  /** The pod IP; absent for host-network pods and for sandboxes that are not running. */
  ip?: string;
  hostNetwork: boolean;
  labels: Record<string, string>;
}

/** A bind mount prepared by the caller (volumes are resolved to host paths before this). */
export interface Mount {
  hostPath: string;
  containerPath: string;
  readOnly: boolean;
}

export interface ContainerConfig {
  pod: PodRef;
  sandboxId: string;
  container: Container;
  /** The restart count this instance will carry. */
  attempt: number;
  hash: string;
  /** The environment, already resolved by the caller (valueFrom, service variables). */
  env: { name: string; value: string }[];
  mounts: Mount[];
  hostNetwork?: boolean;
  hostIPC?: boolean;
  hostPID?: boolean;
  shareProcessNamespace?: boolean;
  /** Join this running container's PID namespace (an ephemeral container's target). */
  pidOfContainerId?: string;
  /** The pod's securityContext: its user, group and groups apply where the container sets none. */
  podSecurityContext?: PodSpec["securityContext"];
}

export type ContainerState = "created" | "running" | "exited" | "unknown";

export interface ContainerStatus {
  id: string;
  pod: PodRef;
  /** The Kubernetes container name. */
  name: string;
  attempt: number;
  hash: string;
  state: ContainerState;
  exitCode?: number;
  /** Kubernetes' terminated reason: "Completed", "Error" or "OOMKilled". */
  reason?: string;
  message?: string;
  oomKilled: boolean;
  createdAt: string;
  startedAt?: string;
  finishedAt?: string;
  image: string;
  imageID: string;
  labels: Record<string, string>;
}

export interface LogOptions {
  follow?: boolean;
  tailLines?: number;
  timestamps?: boolean;
  sinceSeconds?: number;
  /** RFC 3339 time; wins over sinceSeconds when both are given. */
  sinceTime?: string;
  /** The last exited instance of the container instead of the newest one. */
  previous?: boolean;
  signal?: AbortSignal;
}

export interface ExecOptions {
  command: string[];
  stdin?: boolean;
  tty?: boolean;
}

export interface AttachOptions {
  stdin?: boolean;
}

/** A running exec: write stdin, read output, resize the TTY, await the exit code. */
export interface ExecSession {
  /** Present when `stdin` was asked for; ending it closes the process's stdin. */
  stdin: Writable | null;
  /** With a TTY, stdout and stderr arrive merged here. */
  stdout: Readable;
  /** Null with a TTY. */
  stderr: Readable | null;
  resize(width: number, height: number): Promise<void>;
  exitCode: Promise<number>;
  /** Ends the session early (the client went away). */
  close(): void;
}

/** Figures in the units of the kubelet's /stats/summary. */
export interface ContainerStats {
  timestamp: string;
  cpu: { usageCoreNanoSeconds: number; usageNanoCores?: number };
  memory: {
    usageBytes: number;
    workingSetBytes: number;
    rssBytes?: number;
    limitBytes?: number;
  };
  /** Only meaningful for sandboxes (they own the pod's network namespace). */
  network?: { rxBytes: number; txBytes: number; rxErrors: number; txErrors: number };
}

export interface RuntimeEvent {
  type: "start" | "die" | "oom";
  containerId: string;
  kind: "sandbox" | "container";
  pod?: PodRef;
  containerName?: string;
  /** Milliseconds since the epoch. */
  at: number;
  exitCode?: number;
}

export interface ListFilter {
  podUid?: string;
}

/** A sandbox or container as one cheap list shows it: enough to tell that it changed. */
export interface ObjectState {
  id: string;
  podUid: string;
  /** The engine's own word for the state ("running", "exited", ...). */
  state: string;
}

export interface ContainerRuntime {
  /** "docker" or "simulated". */
  readonly type: string;

  /** Makes the pod network exist with exactly this subnet (recreated only when unused). */
  ensurePodNetwork(config: PodNetworkConfig): Promise<PodNetwork>;

  /** Creates and starts a sandbox; returns its id. */
  runPodSandbox(config: SandboxConfig): Promise<string>;
  stopPodSandbox(id: string, gracePeriodSeconds?: number): Promise<void>;
  removePodSandbox(id: string): Promise<void>;
  listPodSandboxes(filter?: ListFilter): Promise<SandboxStatus[]>;

  createContainer(config: ContainerConfig): Promise<string>;
  startContainer(id: string): Promise<void>;
  /** SIGTERM, then SIGKILL once the grace period has passed. */
  stopContainer(id: string, gracePeriodSeconds: number): Promise<void>;
  removeContainer(id: string): Promise<void>;
  listContainers(filter?: ListFilter): Promise<ContainerStatus[]>;
  /**
   * Every sandbox and container with its pod and state, from one list and no inspect (the
   * kubelet's relist compares these between lists).
   */
  listStates(): Promise<ObjectState[]>;

  /** Pulls without credentials; returns the image ID. Throws ImageNotFoundError / ImagePullError. */
  pullImage(image: string): Promise<string>;
  /** The image ID when the image is present, else undefined. */
  imageStatus(image: string): Promise<string | undefined>;

  /** The log stream of the newest (or, with `previous`, the last exited) instance. */
  containerLogs(pod: PodRef, containerName: string, opts?: LogOptions): Promise<Readable>;
  exec(containerId: string, opts: ExecOptions): Promise<ExecSession>;
  /**
   * Attaches to the container's own process: its output from now on, and its stdin when asked
   * for (and the container has one open). `exitCode` resolves when the attachment ends (the
   * process exited or the session was closed), with the container's exit code if it exited.
   */
  attach(containerId: string, opts: AttachOptions): Promise<ExecSession>;
  containerStats(id: string): Promise<ContainerStats>;

  /** start/die/oom events of the runtime's own containers, for the PLEG; ends on abort. */
  events(signal: AbortSignal): AsyncIterable<RuntimeEvent>;
}
