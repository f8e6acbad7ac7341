// NodeAgent: registers this kubelet's Node, renews its Lease in kube-node-lease every 10 s and
// posts the node's conditions when they change and at least once a minute.
import { readFileSync } from "node:fs";
import { statfs } from "node:fs/promises";
import os from "node:os";
import { resourceInfo, rfc3339, rfc3339Micro, type NodeCondition, type Taint } from "@skiff/api";
import type { Lease, Node } from "./objects.js";
import {
  isAlreadyExists,
  isNotFound,
  type Logger,
  type ResourceClient,
  type RestClient,
} from "@skiff/client";

export const KUBELET_VERSION = "v1.31.0-skiff";
const LEASE_NAMESPACE = "kube-node-lease";
const LEASE_DURATION_SECONDS = 40;
const STATUS_REPORT_MS = 60_000;
// Below these the node reports pressure (Kubernetes' hard eviction defaults).
const MEMORY_AVAILABLE_MIN = 100 * 1024 * 1024;
const DISK_AVAILABLE_MIN_FRACTION = 0.1;

export interface NodeAgentOptions {
  client: RestClient;
  nodeName: string;
  nodeIP: string;
  port: number;
  /** "docker://20.10.24" or "simulated://0.1.0". */
  runtimeVersion: string;
  /** The filesystem images and containers live on (ephemeral-storage). */
  storagePath: string;
  taints: Taint[];
  /** Whether the container runtime answers; a dead runtime makes the node NotReady. */
  runtimeHealthy: () => Promise<boolean>;
  log: Logger;
}

type ConditionType = "Ready" | "MemoryPressure" | "DiskPressure" | "PIDPressure";
interface ConditionState {
  status: "True" | "False";
  reason: string;
  message: string;
}

export class NodeAgent {
  private readonly nodes: ResourceClient<Node>;
  private readonly leases: ResourceClient<Lease>;
  private readonly conditions = new Map<ConditionType, NodeCondition>();
  private lastReport = 0;
  private timers: NodeJS.Timeout[] = [];
  private onNode: ((node: Node) => void) | undefined;

  constructor(private readonly opts: NodeAgentOptions) {
    this.nodes = opts.client.resource<Node>(resourceInfo("", "v1", "nodes"));
    this.leases = opts.client
      .resource<Lease>(resourceInfo("coordination.k8s.io", "v1", "leases"))
      .namespace(LEASE_NAMESPACE);
  }

  /** Registers the node and starts the lease and status loops; `onNode` sees every read of it. */
  async start(onNode: (node: Node) => void): Promise<void> {
    this.onNode = onNode;
    // As Kubernetes' kubelet: keep trying to register while the apiserver cannot be reached
    // (a node often starts before its control plane), backing off up to 7 s.
    for (let delay = 100; ; delay = Math.min(delay * 2, 7_000)) {
      try {
        await this.register();
        break;
      } catch (err) {
        if (!(err instanceof Error && "retryable" in err && err.retryable === true)) throw err;
        this.opts.log.warn({ err: err.message, retryInMs: delay }, "cannot register the node yet");
        await new Promise((r) => setTimeout(r, delay));
      }
    }
    // Registered: from here a failed lease renewal or status write (a 503 from a busy
    // apiserver) is logged and tried again at the next tick, never the end of the kubelet.
    const attempt = (fn: () => Promise<void>) =>
      fn().catch((err: unknown) => this.opts.log.warn({ err }, "node update failed"));
    await attempt(() => this.renewLease());
    await attempt(() => this.syncStatus());
    const every = (ms: number, fn: () => Promise<void>) =>
      this.timers.push(setInterval(() => void attempt(fn), ms));
    every(10_000, () => this.renewLease());
    every(10_000, () => this.syncStatus());
  }

  stop(): void {
    for (const t of this.timers) clearInterval(t);
    this.timers = [];
  }

  private async register(): Promise<void> {
    const { nodeName } = this.opts;
    const node: Node = {
      apiVersion: "v1",
      kind: "Node",
      metadata: {
        name: nodeName,
        labels: {
          "kubernetes.io/hostname": nodeName,
          "kubernetes.io/os": "linux",
          "kubernetes.io/arch": goArch(),
        },
      },
      spec: this.opts.taints.length ? { taints: this.opts.taints } : {},
    } as Node;
    try {
      this.onNode?.(await this.nodes.create(node));
    } catch (err) {
      if (!isAlreadyExists(err)) throw err;
      // Already registered (a kubelet restart): keep its spec, refresh the labels.
      this.onNode?.(await this.nodes.patch(nodeName, { metadata: node.metadata }, "merge"));
    }
  }

  private async renewLease(): Promise<void> {
    const { nodeName } = this.opts;
    const renewTime = rfc3339Micro();
    const spec = {
      holderIdentity: nodeName,
      leaseDurationSeconds: LEASE_DURATION_SECONDS,
      renewTime,
    };
    try {
      await this.leases.patch(nodeName, { spec }, "merge");
    } catch (err) {
      if (!isNotFound(err)) throw err;
      const node = await this.nodes.get(nodeName);
      await this.leases.create({
        apiVersion: "coordination.k8s.io/v1",
        kind: "Lease",
        metadata: {
          name: nodeName,
          namespace: LEASE_NAMESPACE,
          ownerReferences: [
            { apiVersion: "v1", kind: "Node", name: nodeName, uid: node.metadata.uid ?? "" },
          ],
        },
        spec: { ...spec, acquireTime: renewTime },
      } as Lease);
    }
  }

  /** Posts nodes/status when a condition changed or a minute passed since the last post. */
  async syncStatus(): Promise<void> {
    const now = rfc3339();
    const observed = await this.observeConditions();
    let changed = false;
    for (const [type, state] of Object.entries(observed) as [ConditionType, ConditionState][]) {
      const previous = this.conditions.get(type);
      const transition = previous?.status !== state.status;
      if (transition || previous?.reason !== state.reason) changed = true;
      this.conditions.set(type, {
        type,
        ...state,
        lastHeartbeatTime: now,
        lastTransitionTime: transition ? now : (previous?.lastTransitionTime ?? now),
      } as NodeCondition);
    }
    if (!changed && Date.now() - this.lastReport < STATUS_REPORT_MS) {
      this.onNode?.(await this.nodes.get(this.opts.nodeName));
      return;
    }
    const status = { ...(await this.staticStatus()), conditions: [...this.conditions.values()] };
    const node = await this.nodes.patch(this.opts.nodeName, { status }, "merge", {
      subresource: "status",
    });
    this.lastReport = Date.now();
    this.onNode?.(node);
  }

  private async observeConditions(): Promise<Record<ConditionType, ConditionState>> {
    const runtimeUp = await this.opts.runtimeHealthy().catch(() => false);
    const disk = await diskUsage(this.opts.storagePath);
    const memoryLow = os.freemem() < MEMORY_AVAILABLE_MIN;
    const diskLow =
      disk !== undefined && disk.available < disk.capacity * DISK_AVAILABLE_MIN_FRACTION;
    return {
      Ready: runtimeUp
        ? { status: "True", reason: "KubeletReady", message: "kubelet is posting ready status" }
        : {
            status: "False",
            reason: "KubeletNotReady",
            message: "container runtime is down",
          },
      MemoryPressure: memoryLow
        ? {
            status: "True",
            reason: "KubeletHasInsufficientMemory",
            message: "kubelet has insufficient memory available",
          }
        : {
            status: "False",
            reason: "KubeletHasSufficientMemory",
            message: "kubelet has sufficient memory available",
          },
      DiskPressure: diskLow
        ? { status: "True", reason: "KubeletHasDiskPressure", message: "kubelet has disk pressure" }
        : {
            status: "False",
            reason: "KubeletHasNoDiskPressure",
            message: "kubelet has no disk pressure",
          },
      PIDPressure: {
        status: "False",
        reason: "KubeletHasSufficientPID",
        message: "kubelet has sufficient PID available",
      },
    };
  }

  private async staticStatus(): Promise<Record<string, unknown>> {
    const disk = await diskUsage(this.opts.storagePath);
    const resources: Record<string, string> = {
      cpu: String(os.cpus().length),
      memory: `${Math.floor(os.totalmem() / 1024)}Ki`,
      pods: "110",
    };
    if (disk) resources["ephemeral-storage"] = `${Math.floor(disk.capacity / 1024)}Ki`;
    return {
      capacity: resources,
      allocatable: resources,
      addresses: [
        { type: "InternalIP", address: this.opts.nodeIP },
        { type: "Hostname", address: this.opts.nodeName },
      ],
      daemonEndpoints: { kubeletEndpoint: { Port: this.opts.port } },
      nodeInfo: {
        machineID: readTrimmed("/etc/machine-id"),
        systemUUID: readTrimmed("/sys/class/dmi/id/product_uuid"),
        bootID: readTrimmed("/proc/sys/kernel/random/boot_id"),
        kernelVersion: os.release(),
        osImage: osImage(),
        containerRuntimeVersion: this.opts.runtimeVersion,
        kubeletVersion: KUBELET_VERSION,
        kubeProxyVersion: KUBELET_VERSION,
        operatingSystem: "linux",
        architecture: goArch(),
      },
    };
  }
}

async function diskUsage(
  path: string,
): Promise<{ capacity: number; available: number } | undefined> {
  try {
    const s = await statfs(path);
    return { capacity: s.blocks * s.bsize, available: s.bavail * s.bsize };
  } catch {
    return undefined;
  }
}

function readTrimmed(path: string): string {
  try {
    return readFileSync(path, "utf8").trim();
  } catch {
    return "";
  }
}

function osImage(): string {
  const m = /^PRETTY_NAME="?([^"\n]*)"?$/m.exec(readTrimmed("/etc/os-release"));
  return m?.[1] ?? "Linux";
}

/** Go's GOARCH names, which Kubernetes labels use. */
export function goArch(): string {
  const a = os.arch();
  return a === "x64" ? "amd64" : a === "ia32" ? "386" : a;
}

/** The host's primary IPv4 address (first non-internal interface), else 127.0.0.1. */
/**
 * The node's default InternalIP, as Kubernetes chooses it without --node-ip: the IPv4 address
 * of the interface that holds the default route, not the first one listed (a pod bridge or
 * skiff-net's VXLAN device may come first, and their addresses change the node's identity).
 */
export function primaryAddress(routes = readDefaultRouteTable()): string {
  const ifaces = os.networkInterfaces();
  const ipv4 = (name: string) =>
    ifaces[name]?.find((a) => a.family === "IPv4" && !a.internal)?.address;
  const uplink = defaultRouteInterface(routes);
  const chosen = uplink ? ipv4(uplink) : undefined;
  if (chosen) return chosen;
  for (const name of Object.keys(ifaces)) {
    const a = ipv4(name);
    if (a) return a;
  }
  return "127.0.0.1";
}

function readDefaultRouteTable(): string {
  try {
    return readFileSync("/proc/net/route", "utf8");
  } catch {
    return "";
  }
}

/** The interface of the default route in /proc/net/route's text (destination and mask 0). */
export function defaultRouteInterface(table: string): string | undefined {
  for (const line of table.split("\n").slice(1)) {
    const [iface, destination, , , , , , mask] = line.trim().split(/\s+/);
    if (iface && destination === "00000000" && mask === "00000000") return iface;
  }
  return undefined;
}

/** Parses `--register-with-taints`: "key=value:Effect,key2:Effect". */
export function parseTaints(spec: string): Taint[] {
  if (!spec.trim()) return [];
  return spec.split(",").map((item) => {
    const m = /^([^=:]+)(?:=([^:]*))?:(NoSchedule|PreferNoSchedule|NoExecute)$/.exec(item.trim());
    if (!m) throw new Error(`invalid taint "${item}": want key[=value]:Effect`);
    const taint: Taint = { key: m[1]!, effect: m[3]! } as Taint;
    if (m[2]) taint.value = m[2];
    return taint;
  });
}
