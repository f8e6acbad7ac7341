// The ConfigMaps and Secrets this node's pods use, watched: Kubernetes' kubelet default
// (configMapAndSecretChangeDetectionStrategy: Watch). One list+watch per referenced object
// (by metadata.name, which the Node authorizer allows for objects its pods reference), started
// with the first pod that references it and stopped with the last one. A pod's sync — every
// 10 s for every pod — then reads from memory: without this each sync asked the apiserver once
// per object (200 pods on 20 nodes: 20 GETs a second of kube-root-ca.crt alone).
//
// Unlike Kubernetes' kubelet, which notices a change at the pod's next periodic sync, a change
// wakes the pods that use the object at once, so their volume contents follow within seconds.
import { podReferences, resourceInfo } from "@skiff/api";
import { SharedInformer, type Logger, type RestClient } from "@skiff/client";
import type { ConfigMap, Pod, Secret } from "./objects.js";

export type WatchedResource = "configmaps" | "secrets";
type Watched = ConfigMap | Secret;

/** How long a read waits for a new watch's first list before it asks the apiserver itself. */
const SYNC_WAIT_MS = 2000;

interface Watch {
  informer: SharedInformer<Watched>;
  /** Uids of the pods that reference the object. */
  pods: Set<string>;
}

export class ObjectWatches {
  /** By "resource/namespace/name". */
  private readonly watches = new Map<string, Watch>();
  /** Each pod's keys, to drop what a pod no longer references. */
  private readonly byPod = new Map<string, Set<string>>();

  constructor(
    private readonly client: RestClient,
    /** Told the pods using an object that changed (not on a watch's first list). */
    private readonly onChange: (podUids: string[]) => void,
    private readonly log: Logger,
  ) {}

  /** Watches what the pod references now, and stops watching what it no longer does. */
  setPod(pod: Pod): void {
    const uid = pod.metadata.uid;
    if (!uid) return;
    const ns = pod.metadata.namespace ?? "default";
    const refs = podReferences(pod);
    const keys = new Set<string>();
    for (const resource of ["configmaps", "secrets"] as const)
      for (const name of refs[resource] ?? []) keys.add(`${resource}/${ns}/${name}`);
    const before = this.byPod.get(uid) ?? new Set<string>();
    for (const key of keys) if (!before.has(key)) this.watch(key).pods.add(uid);
    for (const key of before) if (!keys.has(key)) this.release(key, uid);
    if (keys.size > 0) this.byPod.set(uid, keys);
    else this.byPod.delete(uid);
  }

  deletePod(uid: string): void {
    for (const key of this.byPod.get(uid) ?? []) this.release(key, uid);
    this.byPod.delete(uid);
  }

  /**
   * The object (undefined: it does not exist), from its watch when a pod references it; from
   * the apiserver when none does or its watch has not listed yet.
   */
  async get(
    resource: WatchedResource,
    ns: string,
    name: string,
    read: () => Promise<Watched | undefined>,
  ): Promise<Watched | undefined> {
    const w = this.watches.get(`${resource}/${ns}/${name}`);
    if (!w || !(await w.informer.waitForSync(SYNC_WAIT_MS))) return read();
    return w.informer.lister().namespace(ns).get(name);
  }

  stop(): void {
    for (const w of this.watches.values()) w.informer.stop();
    this.watches.clear();
    this.byPod.clear();
  }

  private watch(key: string): Watch {
    const existing = this.watches.get(key);
    if (existing) return existing;
    const [resource, ns, name] = key.split("/") as [WatchedResource, string, string];
    const informer = new SharedInformer<Watched>(
      this.client.resource<Watched>(resourceInfo("", "v1", resource)).namespace(ns),
      { name: resource, fieldSelector: `metadata.name=${name}`, logger: this.log },
    );
    const w: Watch = { informer, pods: new Set() };
    const changed = () => this.onChange([...w.pods]);
    informer.addEventHandler({
      add: (_obj, initial) => {
        if (!initial) changed();
      },
      update: (old, obj) => {
        if (old.metadata.resourceVersion !== obj.metadata.resourceVersion) changed();
      },
      delete: changed,
    });
    informer.start();
    this.watches.set(key, w);
    return w;
  }

  private release(key: string, uid: string): void {
    const w = this.watches.get(key);
    if (!w) return;
    w.pods.delete(uid);
    if (w.pods.size > 0) return;
    w.informer.stop();
    this.watches.delete(key);
  }
}
