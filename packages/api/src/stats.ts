// The kubelet's Summary API, stats/v1alpha1 (`/stats/summary`): what a kubelet reports of its
// node, pods and containers, and what the apiserver's resource metrics read. Served by the
// kubelet, never stored, so types only, without a schema.

export interface CPUStats {
  time: string;
  usageNanoCores?: number;
  usageCoreNanoSeconds?: number;
}

export interface MemoryStats {
  time: string;
  availableBytes?: number;
  usageBytes?: number;
  workingSetBytes?: number;
  rssBytes?: number;
}

export interface InterfaceStats {
  name: string;
  rxBytes: number;
  rxErrors: number;
  txBytes: number;
  txErrors: number;
}

/** The default interface's figures inline, as Kubernetes does, plus every interface. */
export interface NetworkStats extends Partial<InterfaceStats> {
  time: string;
  interfaces: InterfaceStats[];
}

export interface FsStats {
  time: string;
  availableBytes: number;
  capacityBytes: number;
  usedBytes: number;
  inodesFree: number;
  inodes: number;
  inodesUsed: number;
}

export interface ContainerStats {
  name: string;
  startTime: string;
  cpu: CPUStats;
  memory: MemoryStats;
}

export interface PodStats {
  podRef: { name: string; namespace: string; uid: string };
  startTime: string;
  containers: ContainerStats[];
  cpu: CPUStats;
  memory: MemoryStats;
  network?: NetworkStats;
}

export interface NodeStats {
  nodeName: string;
  startTime: string;
  cpu: CPUStats;
  memory: MemoryStats;
  network?: NetworkStats;
  fs?: FsStats;
}

export interface Summary {
  node: NodeStats;
  pods: PodStats[];
}
