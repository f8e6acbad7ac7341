// The resource quota controller: keeps each ResourceQuota's status (hard as in spec, used
// as counted over the namespace's objects). The apiserver's ResourceQuota admission adds
// to `used` as objects are created; this controller recounts, so deletions and lost
// updates are repaired within a sync.
import { isDeepStrictEqual } from "node:util";
import {
  findResource,
  formatUsage,
  parseQuantity,
  quotaScopesMatch,
  quotaUsage,
  resourceInfo,
  type QuotaScopeSelector,
  type ResourceInfo,
} from "@skiff/api/light";
import { splitMetaNamespaceKey } from "@skiff/client";
import type { KubeObject, Lister, ResourceClient, SharedInformer, WorkQueue } from "@skiff/client";
import {
  enqueueHandler,
  newQueue,
  QueueController,
  unwrapTombstone,
  type ControllerContext,
} from "../../controller.js";
import type { ResourceQuota } from "../../objects.js";

/** The resources whose objects a quota counts (usage by kind in @skiff/api quotaUsage). */
export const quotaResources: [group: string, resource: string][] = [
  ["", "pods"],
  ["", "services"],
  ["", "configmaps"],
  ["", "secrets"],
  ["", "persistentvolumeclaims"],
  ["", "replicationcontrollers"],
  ["apps", "deployments"],
  ["apps", "replicasets"],
  ["apps", "statefulsets"],
  ["apps", "daemonsets"],
  ["batch", "jobs"],
  ["batch", "cronjobs"],
];

/** status.used for a quota from the objects of its namespace, for the resources it limits. */
export function usedBy(
  hard: Record<string, string | number>,
  objects: { info: ResourceInfo; items: KubeObject[] }[],
  scopes?: string[],
  scopeSelector?: QuotaScopeSelector,
): Record<string, string> {
  const total: Record<string, number> = {};
  for (const r of Object.keys(hard)) total[r] = 0;
  for (const { info, items } of objects) {
    for (const item of items) {
      const obj: Record<string, unknown> = { ...item };
      if (!quotaScopesMatch(info, obj, scopes, scopeSelector)) continue;
      for (const [r, v] of Object.entries(quotaUsage(info, obj))) {
        if (r in total) total[r] = total[r]! + v;
      }
    }
  }
  return Object.fromEntries(Object.entries(total).map(([r, v]) => [r, formatUsage(r, v)]));
}

export class ResourceQuotaController extends QueueController {
  readonly name = "resourcequota";
  readonly queue: WorkQueue<string>;
  private readonly quotas: Lister<ResourceQuota>;
  private readonly counted: { info: ResourceInfo; lister: Lister }[] = [];
  private readonly informers: SharedInformer[];
  private readonly client: ResourceClient<ResourceQuota>;

  constructor(ctx: ControllerContext) {
    super(ctx);
    this.queue = newQueue(ctx, this.name);
    const quotaInfo = resourceInfo("", "v1", "resourcequotas");
    const quotas = ctx.informers.forResource<ResourceQuota>(quotaInfo);
    this.quotas = quotas.lister();
    this.client = ctx.client.resource<ResourceQuota>(quotaInfo);
    quotas.addEventHandler(enqueueHandler(this.queue));
    this.informers = [quotas as SharedInformer];
    const namespaceChanged = (o: KubeObject) =>
      this.quotas
        .namespace(o.metadata.namespace ?? "")
        .list()
        .forEach((q) => this.queue.add(`${q.metadata.namespace ?? ""}/${q.metadata.name ?? ""}`));
    for (const [group, resource] of quotaResources) {
      const info = findResource(group, "v1", resource);
      if (!info) continue;
      const informer = ctx.informers.forResource(info);
      informer.addEventHandler({
        add: namespaceChanged,
        update: (o, n) =>
          o.metadata.resourceVersion !== n.metadata.resourceVersion && namespaceChanged(n),
        delete: (o) => namespaceChanged(unwrapTombstone(o)),
      });
      this.counted.push({ info, lister: informer.lister() });
      this.informers.push(informer as SharedInformer);
    }
  }

  protected cachesToSync() {
    return this.informers;
  }

  async sync(key: string): Promise<void> {
    const { namespace, name } = splitMetaNamespaceKey(key);
    const quota = this.quotas.namespace(namespace).get(name);
    if (!quota || quota.metadata.deletionTimestamp) return;
    const hard = quota.spec?.hard ?? {};
    const objects = this.counted.map(({ info, lister }) => ({
      info,
      items: lister.namespace(namespace).list(),
    }));
    const status = {
      hard: { ...hard },
      used: usedBy(hard, objects, quota.spec?.scopes, quota.spec?.scopeSelector),
    };
    const same =
      isDeepStrictEqual(status.hard, quota.status?.hard ?? {}) &&
      Object.keys(status.used).length === Object.keys(quota.status?.used ?? {}).length &&
      Object.entries(status.used).every(
        ([r, v]) => parseQuantity(v) === parseQuantity(quota.status?.used?.[r] ?? "-1"),
      );
    if (same) return;
    const next = structuredClone(quota);
    next.status = status;
    await this.client.namespace(namespace).updateStatus(next);
  }
}

export const newResourceQuotaController = (ctx: ControllerContext) =>
  new ResourceQuotaController(ctx);
