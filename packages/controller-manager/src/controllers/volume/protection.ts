// Storage object in-use protection (Kubernetes' pvc-protection and pv-protection
// controllers): a claim being deleted keeps its kubernetes.io/pvc-protection finalizer
// while a pod that has not finished uses it; a volume being deleted keeps
// kubernetes.io/pv-protection while it is Bound. Keys are "claim:<ns>/<name>", "volume:<name>".
import { isNotFound, splitMetaNamespaceKey } from "@skiff/client";
import type { KubeObject, Lister, ResourceClient, SharedInformer, WorkQueue } from "@skiff/client";
import {
  newQueue,
  QueueController,
  unwrapTombstone,
  type ControllerContext,
} from "../../controller.js";
import type { PersistentVolume, PersistentVolumeClaim, Pod } from "../../objects.js";
import { resourceInfo } from "@skiff/api/light";
import { claimsOf } from "./binding.js";

export const PVC_PROTECTION = "kubernetes.io/pvc-protection";
export const PV_PROTECTION = "kubernetes.io/pv-protection";

const finished = (p: Pod) => p.status?.phase === "Succeeded" || p.status?.phase === "Failed";

export class StorageProtectionController extends QueueController {
  readonly name = "pvc-protection";
  readonly queue: WorkQueue<string>;
  private readonly claims: Lister<PersistentVolumeClaim>;
  private readonly volumes: Lister<PersistentVolume>;
  private readonly pods: SharedInformer<Pod>;
  private readonly informers: SharedInformer[];
  private readonly claimClient: ResourceClient<PersistentVolumeClaim>;
  private readonly volumeClient: ResourceClient<PersistentVolume>;

  constructor(ctx: ControllerContext) {
    super(ctx);
    this.queue = newQueue(ctx, this.name);
    const claimInfo = resourceInfo("", "v1", "persistentvolumeclaims");
    const volumeInfo = resourceInfo("", "v1", "persistentvolumes");
    const claims = ctx.informers.forResource<PersistentVolumeClaim>(claimInfo);
    const volumes = ctx.informers.forResource<PersistentVolume>(volumeInfo);
    this.pods = ctx.informers.forResource<Pod>(resourceInfo("", "v1", "pods"));
    this.pods.addIndexers({
      claim: (p) => claimsOf(p).map((c) => `${p.metadata.namespace ?? ""}/${c}`),
    });
    this.claims = claims.lister();
    this.volumes = volumes.lister();
    this.informers = [claims, volumes, this.pods] as SharedInformer[];
    this.claimClient = ctx.client.resource<PersistentVolumeClaim>(claimInfo);
    this.volumeClient = ctx.client.resource<PersistentVolume>(volumeInfo);
    const on = <T extends KubeObject>(keys: (o: T) => string[]) => ({
      add: (o: T) => keys(o).forEach((k) => this.queue.add(k)),
      update: (_: T, n: T) => keys(n).forEach((k) => this.queue.add(k)),
      delete: (o: T | { obj: T }) =>
        keys(unwrapTombstone(o as T)).forEach((k) => this.queue.add(k)),
    });
    claims.addEventHandler(
      on<PersistentVolumeClaim>((c) => [
        `claim:${c.metadata.namespace ?? ""}/${c.metadata.name ?? ""}`,
      ]),
    );
    volumes.addEventHandler(on<PersistentVolume>((v) => [`volume:${v.metadata.name ?? ""}`]));
    // A pod that finishes or goes away may be the last user of its claims.
    this.pods.addEventHandler(
      on<Pod>((p) => claimsOf(p).map((c) => `claim:${p.metadata.namespace ?? ""}/${c}`)),
    );
  }

  protected cachesToSync() {
    return this.informers;
  }

  /** Whether a pod that has not finished mounts the claim (`namespace/name`). */
  inUse(key: string): boolean {
    return this.pods
      .lister()
      .byIndex("claim", key)
      .some((p) => !finished(p));
  }

  async sync(key: string): Promise<void> {
    if (key.startsWith("claim:")) {
      const k = key.slice("claim:".length);
      const { namespace, name } = splitMetaNamespaceKey(k);
      const pvc = this.claims.namespace(namespace).get(name);
      if (!pvc?.metadata.deletionTimestamp || !pvc.metadata.finalizers?.includes(PVC_PROTECTION))
        return;
      if (this.inUse(k)) return;
      const next = structuredClone(pvc);
      next.metadata.finalizers = pvc.metadata.finalizers.filter((f) => f !== PVC_PROTECTION);
      await this.claimClient.namespace(namespace).update(next).catch(ignoreNotFound);
    } else if (key.startsWith("volume:")) {
      const pv = this.volumes.get(key.slice("volume:".length));
      if (!pv?.metadata.deletionTimestamp || !pv.metadata.finalizers?.includes(PV_PROTECTION))
        return;
      if (pv.status?.phase === "Bound") return;
      const next = structuredClone(pv);
      next.metadata.finalizers = pv.metadata.finalizers.filter((f) => f !== PV_PROTECTION);
      await this.volumeClient.update(next).catch(ignoreNotFound);
    }
  }
}

function ignoreNotFound(e: unknown): undefined {
  if (isNotFound(e)) return undefined;
  throw e;
}

export const newStorageProtectionController = (ctx: ControllerContext) =>
  new StorageProtectionController(ctx);
