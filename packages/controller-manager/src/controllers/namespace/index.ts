// The namespace controller: empties a Terminating namespace of every namespaced resource,
// then removes the "kubernetes" finalizer (PUT .../finalize) so the apiserver deletes it.
import { customResourceInfos, resourceInfo, resources, type ResourceInfo } from "@skiff/api/light";
import {
  ApiError,
  isNotFound,
  metaNamespaceKey,
  type KubeObject,
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
import type { Namespace } from "../../objects.js";

const namespacesInfo = resourceInfo("", "v1", "namespaces");
const crdsInfo = resourceInfo("apiextensions.k8s.io", "v1", "customresourcedefinitions");

/** How soon to look again while objects are still going away (pods in their grace period). */
const recheckMs = 1_000;

export class NamespaceController extends QueueController {
  readonly name = "namespace";
  protected readonly queue: WorkQueue<string>;
  private readonly informer: SharedInformer<Namespace>;
  /** CRDs: their namespaced custom resources are emptied out too. */
  private readonly crds: SharedInformer<KubeObject>;

  constructor(ctx: ControllerContext) {
    super(ctx);
    this.queue = newQueue(ctx, this.name);
    this.informer = ctx.informers.forResource<Namespace>(namespacesInfo);
    this.crds = ctx.informers.forResource(crdsInfo);
    const enqueue = (ns: Namespace) => {
      if (ns.metadata.deletionTimestamp) this.queue.add(metaNamespaceKey(ns));
    };
    this.informer.addEventHandler({
      add: enqueue,
      update: (o, n) => o.metadata.resourceVersion !== n.metadata.resourceVersion && enqueue(n),
      delete: (obj) => this.queue.add(metaNamespaceKey(unwrapTombstone(obj))),
    });
  }

  protected cachesToSync() {
    return [this.informer, this.crds];
  }

  async sync(name: string): Promise<void> {
    const ns = this.informer.lister().get(name);
    if (!ns?.metadata.deletionTimestamp) return;
    const remaining = await this.deleteContent(name);
    if (remaining > 0) {
      this.ctx.log.debug({ namespace: name, remaining }, "waiting for objects to go");
      this.queue.addAfter(name, recheckMs);
      return;
    }
    await this.finalize(ns);
  }

  /** Deletes every namespaced object in the namespace; returns how many still exist. */
  private async deleteContent(namespace: string): Promise<number> {
    let remaining = 0;
    for (const info of [...resources, ...this.customResources()].filter((r) => r.namespaced)) {
      const rc = this.ctx.client.resource<KubeObject>(info).namespace(namespace);
      const { items } = await rc.list();
      remaining += items.length;
      await Promise.all(
        items
          .filter((o) => !o.metadata.deletionTimestamp)
          .map((o) =>
            rc
              .delete(o.metadata.name ?? "", { propagationPolicy: "Background" })
              .catch((e: unknown) => {
                if (!isNotFound(e)) throw e;
              }),
          ),
      );
    }
    return remaining;
  }

  /** The preferred version of every Established CRD's resource. */
  private customResources(): ResourceInfo[] {
    const out: ResourceInfo[] = [];
    for (const crd of this.crds.lister().list()) {
      const { status } = crd as { status?: { conditions?: { type: string; status: string }[] } };
      if (!status?.conditions?.some((c) => c.type === "Established" && c.status === "True"))
        continue;
      const preferred = customResourceInfos(crd)[0];
      if (preferred) out.push(preferred);
    }
    return out;
  }

  /** Removes "kubernetes" from spec.finalizers through the finalize subresource. */
  private async finalize(ns: Namespace): Promise<void> {
    const finalizers = ns.spec?.finalizers ?? [];
    if (!finalizers.includes("kubernetes")) return;
    const next = structuredClone(ns);
    next.spec = { ...next.spec, finalizers: finalizers.filter((f) => f !== "kubernetes") };
    const name = encodeURIComponent(ns.metadata.name ?? "");
    const body = { apiVersion: "v1", kind: "Namespace", ...next };
    try {
      await this.ctx.client.request("PUT", `/api/v1/namespaces/${name}/finalize`, { body });
    } catch (e) {
      if (!isNotFound(e)) throw e;
      // A NotFound that names no object means the route itself is missing: the apiserver
      // reads /namespaces/{name}/finalize as a resource "finalize" in namespace {name}.
      // Until it serves the subresource, a plain update of spec.finalizers does the job.
      if (e instanceof ApiError && e.status.details?.name) return;
      this.ctx.log.warn(
        { namespace: ns.metadata.name },
        "no namespaces/finalize route; updating spec.finalizers directly",
      );
      await this.ctx.client.request("PUT", `/api/v1/namespaces/${name}`, { body });
    }
    this.ctx.log.info({ namespace: ns.metadata.name }, "namespace emptied and finalized");
  }
}

export const newNamespaceController = (ctx: ControllerContext): Controller =>
  new NamespaceController(ctx);
