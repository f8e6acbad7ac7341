// The garbage collector: deletes objects whose owners are gone (background), deletes the
// dependents of an owner being deleted in the foreground before letting it go, and strips
// ownerReferences from dependents when the owner is deleted with orphan propagation.
//
// It keeps a small graph from the informer events: uid → object, owner uid → dependents.
// The queue holds "resource|namespace/name" items; `sync` re-reads everything it decides on.
import {
  apiVersionOf,
  customResourceInfos,
  findResource,
  findResourceByKind,
  resourceInfo,
  type ResourceInfo,
} from "@skiff/api/light";
import {
  isConflict,
  isNotFound,
  metaNamespaceKey,
  type KubeObject,
  type ResourceClient,
  type SharedInformer,
  type WorkQueue,
} from "@skiff/client";
import {
  newQueue,
  QueueController,
  unwrapTombstone,
  type Controller,
  type ControllerContext,
} from "../../controller.js";

/** The resources whose objects may own or depend on others. */
export const gcResources: [group: string, resource: string][] = [
  ["", "pods"],
  ["apps", "replicasets"],
  ["apps", "deployments"],
  ["apps", "daemonsets"],
  ["apps", "statefulsets"],
  ["apps", "controllerrevisions"],
  ["", "persistentvolumeclaims"],
  ["batch", "jobs"],
  ["batch", "cronjobs"],
  ["", "services"],
  ["", "endpoints"],
  ["discovery.k8s.io", "endpointslices"],
  ["", "configmaps"],
  ["", "secrets"],
  ["", "replicationcontrollers"],
];

interface Node {
  resource: string;
  key: string;
}

const itemOf = (resource: string, key: string): string => `${resource}|${key}`;
const CRDS = "customresourcedefinitions.apiextensions.k8s.io";

export class GarbageCollector extends QueueController {
  readonly name = "garbagecollector";
  protected readonly queue: WorkQueue<string>;
  private readonly informers = new Map<string, SharedInformer<KubeObject>>();
  private readonly infos = new Map<string, ResourceInfo>();
  /** apiVersion|kind → a served custom resource version, for owner references to them. */
  private readonly customKinds = new Map<string, ResourceInfo>();
  /** uid → where the object lives. */
  private readonly byUid = new Map<string, Node>();
  /** owner uid → items of objects that list it in ownerReferences. */
  private readonly dependents = new Map<string, Set<string>>();

  constructor(ctx: ControllerContext) {
    super(ctx);
    this.queue = newQueue(ctx, this.name);
    for (const [group, resource] of gcResources) {
      const info = findResource(group, "v1", resource);
      if (info) this.track(resource, info);
    }
    // Custom resources take part too: each Established CRD adds an informer on its
    // preferred version, as Kubernetes' GC finds them through discovery.
    const crds = ctx.informers.forResource(
      resourceInfo("apiextensions.k8s.io", "v1", "customresourcedefinitions"),
    );
    this.informers.set(CRDS, crds);
    crds.addEventHandler({
      add: (crd) => this.trackCustom(crd),
      update: (_old, crd) => this.trackCustom(crd),
    });
  }

  private track(resource: string, info: ResourceInfo): void {
    const informer = this.ctx.informers.forResource(info);
    this.informers.set(resource, informer);
    this.infos.set(resource, info);
    informer.addEventHandler({
      add: (obj) => this.observe(resource, undefined, obj),
      update: (old, obj) => {
        if (old.metadata.resourceVersion !== obj.metadata.resourceVersion)
          this.observe(resource, old, obj);
      },
      delete: (obj) => this.forget(resource, unwrapTombstone(obj)),
    });
  }

  private trackCustom(crd: KubeObject): void {
    const { status } = crd as { status?: { conditions?: { type: string; status: string }[] } };
    const conditions = status?.conditions;
    if (!conditions?.some((c) => c.type === "Established" && c.status === "True")) return;
    const infos = customResourceInfos(crd);
    for (const info of infos) this.customKinds.set(`${apiVersionOf(info)}|${info.kind}`, info);
    const preferred = infos[0];
    // Keyed by plural.group: never the same as a built-in resource's key.
    const key = preferred && `${preferred.resource}.${preferred.group}`;
    if (!preferred || this.infos.has(key!)) return;
    this.track(key!, preferred);
  }

  private observe(resource: string, old: KubeObject | undefined, obj: KubeObject): void {
    const item = itemOf(resource, metaNamespaceKey(obj));
    const uid = obj.metadata.uid ?? "";
    this.byUid.set(uid, { resource, key: metaNamespaceKey(obj) });
    for (const r of old?.metadata.ownerReferences ?? []) this.dependents.get(r.uid)?.delete(item);
    const refs = obj.metadata.ownerReferences ?? [];
    for (const r of refs) {
      let set = this.dependents.get(r.uid);
      if (!set) this.dependents.set(r.uid, (set = new Set()));
      set.add(item);
    }
    // A dependent: check its owners. An owner being deleted with a GC finalizer: act.
    const finalizers = obj.metadata.finalizers ?? [];
    if (refs.length > 0) this.queue.add(item);
    if (
      obj.metadata.deletionTimestamp &&
      (finalizers.includes("foregroundDeletion") || finalizers.includes("orphan"))
    ) {
      this.queue.add(item);
    }
  }

  private forget(resource: string, obj: KubeObject): void {
    const item = itemOf(resource, metaNamespaceKey(obj));
    const uid = obj.metadata.uid ?? "";
    this.byUid.delete(uid);
    for (const r of obj.metadata.ownerReferences ?? []) {
      this.dependents.get(r.uid)?.delete(item);
      // An owner waiting in the foreground may now be free to go.
      const owner = this.byUid.get(r.uid);
      if (owner) this.queue.add(itemOf(owner.resource, owner.key));
    }
    // Its dependents have lost an owner.
    for (const dep of this.dependents.get(uid) ?? []) this.queue.add(dep);
  }

  protected cachesToSync() {
    return [...this.informers.values()];
  }

  private client(resource: string, namespace: string): ResourceClient<KubeObject> {
    const info = this.infos.get(resource)!;
    const rc = this.ctx.client.resource<KubeObject>(info);
    return info.namespaced ? rc.namespace(namespace) : rc;
  }

  private cached(item: string): { resource: string; obj: KubeObject } | undefined {
    const i = item.indexOf("|");
    const resource = item.slice(0, i);
    const obj = this.informers.get(resource)?.store.get(item.slice(i + 1));
    return obj ? { resource, obj } : undefined;
  }

  async sync(item: string): Promise<void> {
    const found = this.cached(item);
    if (!found) return;
    const { resource, obj } = found;
    const finalizers = obj.metadata.finalizers ?? [];
    if (obj.metadata.deletionTimestamp && finalizers.includes("orphan")) {
      return this.orphanDependents(resource, obj);
    }
    if (obj.metadata.deletionTimestamp && finalizers.includes("foregroundDeletion")) {
      return this.deleteDependentsFirst(resource, obj);
    }
    if (obj.metadata.ownerReferences?.length) await this.checkOwners(resource, obj);
  }

  private dependentsOf(uid: string): { resource: string; obj: KubeObject }[] {
    const out: { resource: string; obj: KubeObject }[] = [];
    for (const item of this.dependents.get(uid) ?? []) {
      const d = this.cached(item);
      if (d?.obj.metadata.ownerReferences?.some((r) => r.uid === uid)) out.push(d);
    }
    return out;
  }

  /** Orphan: remove the owner from every dependent's ownerReferences, then the finalizer. */
  private async orphanDependents(resource: string, owner: KubeObject): Promise<void> {
    const uid = owner.metadata.uid ?? "";
    for (const dep of this.dependentsOf(uid)) {
      const refs = (dep.obj.metadata.ownerReferences ?? []).filter((r) => r.uid !== uid);
      await this.patchMeta(dep.resource, dep.obj, { ownerReferences: refs });
    }
    await this.removeFinalizer(resource, owner, "orphan");
  }

  /** Foreground: delete the dependents; once none blocks, let the owner go. */
  private async deleteDependentsFirst(resource: string, owner: KubeObject): Promise<void> {
    const uid = owner.metadata.uid ?? "";
    const deps = this.dependentsOf(uid);
    for (const dep of deps) {
      if (dep.obj.metadata.deletionTimestamp) continue;
      // Dependents with dependents of their own go in the foreground too.
      const nested = (this.dependents.get(dep.obj.metadata.uid ?? "")?.size ?? 0) > 0;
      await this.deleteObject(dep.resource, dep.obj, nested ? "Foreground" : "Background");
    }
    const blocking = deps.filter((d) =>
      d.obj.metadata.ownerReferences?.some((r) => r.uid === uid && r.blockOwnerDeletion),
    );
    if (blocking.length === 0) await this.removeFinalizer(resource, owner, "foregroundDeletion");
    // Otherwise each dependent's deletion requeues the owner (see forget).
  }

  /** Background: a dependent all of whose owners are gone is deleted. */
  private async checkOwners(resource: string, obj: KubeObject): Promise<void> {
    const ns = obj.metadata.namespace ?? "";
    const solid: string[] = [];
    const dangling: string[] = [];
    let waiting = 0;
    for (const ref of obj.metadata.ownerReferences ?? []) {
      const state = await this.ownerState(ref, ns);
      if (state === "absent") dangling.push(ref.uid);
      else if (state === "deletingForeground") waiting++;
      else solid.push(ref.uid);
    }
    if (solid.length > 0) {
      // Some owner remains: only drop the references to owners that are gone.
      if (dangling.length === 0) return;
      const refs = (obj.metadata.ownerReferences ?? []).filter((r) => !dangling.includes(r.uid));
      await this.patchMeta(resource, obj, { ownerReferences: refs });
    } else if (waiting > 0) {
      // Owners being deleted in the foreground wait for us: go in the foreground too.
      if (!obj.metadata.deletionTimestamp) await this.deleteObject(resource, obj, "Foreground");
    } else {
      await this.deleteObject(resource, obj, "Background");
    }
  }

  /** Whether an owner exists (by uid); the cache first, then a live read to be sure. */
  private async ownerState(
    ref: { apiVersion: string; kind: string; name: string; uid: string },
    namespace: string,
  ): Promise<"present" | "absent" | "deletingForeground"> {
    const node = this.byUid.get(ref.uid);
    const cached = node ? this.cached(itemOf(node.resource, node.key))?.obj : undefined;
    const check = (o: KubeObject) =>
      o.metadata.deletionTimestamp && o.metadata.finalizers?.includes("foregroundDeletion")
        ? "deletingForeground"
        : "present";
    if (cached) return check(cached);
    const info =
      findResourceByKind(ref.apiVersion, ref.kind) ??
      this.customKinds.get(`${ref.apiVersion}|${ref.kind}`);
    if (!info) {
      this.ctx.log.warn({ owner: ref }, "unknown owner kind; keeping the dependent");
      return "present";
    }
    const rc = this.ctx.client.resource<KubeObject>(info);
    try {
      const live = await (info.namespaced ? rc.namespace(namespace) : rc).get(ref.name);
      return live.metadata.uid === ref.uid ? check(live) : "absent";
    } catch (e) {
      if (isNotFound(e)) return "absent";
      throw e;
    }
  }

  private async deleteObject(
    resource: string,
    obj: KubeObject,
    propagationPolicy: "Foreground" | "Background",
  ): Promise<void> {
    try {
      await this.client(resource, obj.metadata.namespace ?? "").delete(obj.metadata.name ?? "", {
        propagationPolicy,
        preconditions: { uid: obj.metadata.uid ?? "" },
      });
    } catch (e) {
      if (!isNotFound(e) && !isConflict(e)) throw e;
    }
  }

  private async patchMeta(resource: string, obj: KubeObject, meta: object): Promise<void> {
    try {
      await this.client(resource, obj.metadata.namespace ?? "").patch(
        obj.metadata.name ?? "",
        { metadata: { resourceVersion: obj.metadata.resourceVersion, ...meta } },
        "merge",
      );
    } catch (e) {
      if (!isNotFound(e)) throw e;
    }
  }

  private async removeFinalizer(resource: string, obj: KubeObject, finalizer: string) {
    const finalizers = (obj.metadata.finalizers ?? []).filter((f) => f !== finalizer);
    await this.patchMeta(resource, obj, { finalizers });
  }
}

export const newGarbageCollector = (ctx: ControllerContext): Controller =>
  new GarbageCollector(ctx);
