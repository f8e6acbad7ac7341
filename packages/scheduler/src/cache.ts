// The scheduler's cache: nodes with the pods on them, including pods it has "assumed" onto a
// node while their binding is in flight.
//
// Contract:
// - `assumePod(pod, node)` counts the pod on the node at once, so the next decision sees it
//   before the watch reports the binding. `confirm` happens by itself when the informer
//   reports the pod bound (`addPod`/`updatePod`), wherever it was bound; `forgetPod` undoes
//   an assumption whose binding failed. Assumed pods do not expire (as Kubernetes 1.31).
// - A pod reported bound that was never assumed (another scheduler, a static pod) is added.
// - A node deleted while pods are still on it keeps its accounting until they go, but is no
//   longer offered to the scheduler.
// - It is the Snapshot the scheduling algorithm reads. JavaScript runs one decision at a
//   time, so reading the live cache is as consistent as Kubernetes' per-cycle copy.
import type { Snapshot } from "./framework/schedule.js";
import { NodeInfo, newPodInfo, type PodInfo } from "./framework/nodeinfo.js";
import { podKey, type Node, type Pod } from "./types.js";

interface PodState {
  info: PodInfo;
  nodeName: string;
  assumed: boolean;
}

export class SchedulerCache implements Snapshot {
  private readonly nodeInfos = new Map<string, NodeInfo>();
  private readonly podStates = new Map<string, PodState>();
  private readonly imageNodes = new Map<string, number>();
  private nodeList: NodeInfo[] | undefined;

  /** Nodes that exist, in a stable (insertion) order. */
  get nodes(): readonly NodeInfo[] {
    this.nodeList ??= [...this.nodeInfos.values()].filter((n) => n.node !== undefined);
    return this.nodeList;
  }

  nodesWithImage(image: string): number {
    return this.imageNodes.get(image) ?? 0;
  }

  nodeInfo(name: string): NodeInfo | undefined {
    return this.nodeInfos.get(name);
  }

  get podCount(): number {
    return this.podStates.size;
  }

  private infoFor(name: string): NodeInfo {
    let ni = this.nodeInfos.get(name);
    if (!ni) {
      ni = new NodeInfo(name);
      this.nodeInfos.set(name, ni);
    }
    return ni;
  }

  private countImages(ni: NodeInfo, sign: 1 | -1): void {
    for (const image of ni.imageSizes.keys()) {
      const n = (this.imageNodes.get(image) ?? 0) + sign;
      if (n > 0) this.imageNodes.set(image, n);
      else this.imageNodes.delete(image);
    }
  }

  addNode(node: Node): void {
    const ni = this.infoFor(node.metadata.name ?? "");
    if (ni.node) this.countImages(ni, -1);
    else this.nodeList = undefined;
    ni.setNode(node);
    this.countImages(ni, 1);
  }

  updateNode(node: Node): void {
    this.addNode(node);
  }

  removeNode(name: string): void {
    const ni = this.nodeInfos.get(name);
    if (!ni?.node) return;
    this.countImages(ni, -1);
    ni.setNode(undefined);
    this.nodeList = undefined;
    if (ni.pods.size === 0) this.nodeInfos.delete(name);
  }

  private place(key: string, info: PodInfo, nodeName: string, assumed: boolean): void {
    this.unplace(key);
    this.infoFor(nodeName).addPod(info);
    this.podStates.set(key, { info, nodeName, assumed });
  }

  private unplace(key: string): void {
    const st = this.podStates.get(key);
    if (!st) return;
    this.podStates.delete(key);
    const ni = this.nodeInfos.get(st.nodeName);
    ni?.removePod(key);
    if (ni && !ni.node && ni.pods.size === 0) this.nodeInfos.delete(st.nodeName);
  }

  /** Counts a pod on a node before its binding is confirmed. */
  assumePod(info: PodInfo, nodeName: string): void {
    if (this.podStates.has(info.key))
      throw new Error(`pod ${info.key} is already in the scheduler cache`);
    this.place(info.key, info, nodeName, true);
  }

  /** Undoes an assumption (the binding failed). A pod already confirmed stays. */
  forgetPod(key: string): void {
    if (this.podStates.get(key)?.assumed) this.unplace(key);
  }

  isAssumed(key: string): boolean {
    return this.podStates.get(key)?.assumed === true;
  }

  /** Where the cache has the pod, if anywhere. */
  nodeOf(key: string): string | undefined {
    return this.podStates.get(key)?.nodeName;
  }

  /** A bound pod reported by the informer (this confirms an assumed pod). */
  addPod(pod: Pod): void {
    const nodeName = pod.spec.nodeName;
    if (!nodeName) return;
    this.place(podKey(pod), newPodInfo(pod), nodeName, false);
  }

  updatePod(pod: Pod): void {
    this.addPod(pod);
  }

  removePod(pod: Pod): void {
    this.unplace(podKey(pod));
  }
}
