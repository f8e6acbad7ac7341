// The ClusterRole aggregation controller: a ClusterRole with an aggregationRule gets, as its
// rules, the union of the rules of every ClusterRole its selectors match (in name order,
// without duplicates), kept up to date as those roles change — how admin, edit and view
// pick up `rbac.authorization.k8s.io/aggregate-to-*` roles.
import type { Lister, ResourceClient, SharedInformer, WorkQueue } from "@skiff/client";
import {
  labelSelectorToRequirements,
  matchesLabels,
  resourceInfo,
  type PolicyRule,
} from "@skiff/api/light";
import {
  newQueue,
  QueueController,
  unwrapTombstone,
  type ControllerConstructor,
  type ControllerContext,
} from "../../controller.js";
import type { ClusterRole } from "../../objects.js";

/** The rules an aggregated role should have, given every ClusterRole. Pure. */
export function aggregatedRules(role: ClusterRole, all: ClusterRole[]): PolicyRule[] {
  const selectors = (role.aggregationRule?.clusterRoleSelectors ?? []).map((s) =>
    labelSelectorToRequirements(s),
  );
  const seen = new Set<string>();
  const rules: PolicyRule[] = [];
  const sources = all
    .filter((r) => r.metadata.name !== role.metadata.name)
    .filter((r) => selectors.some((s) => matchesLabels(s, r.metadata.labels)))
    .sort((a, b) => (a.metadata.name! < b.metadata.name! ? -1 : 1));
  for (const src of sources) {
    for (const rule of src.rules ?? []) {
      const key = JSON.stringify(rule);
      if (seen.has(key)) continue;
      seen.add(key);
      rules.push(rule);
    }
  }
  return rules;
}

export class ClusterRoleAggregationController extends QueueController {
  readonly name = "clusterrole-aggregation";
  readonly queue: WorkQueue<string>;
  private readonly roles: Lister<ClusterRole>;
  private readonly informer: SharedInformer<ClusterRole>;
  private readonly client: ResourceClient<ClusterRole>;

  constructor(ctx: ControllerContext) {
    super(ctx);
    this.queue = newQueue(ctx, this.name);
    const info = resourceInfo("rbac.authorization.k8s.io", "v1", "clusterroles");
    this.informer = ctx.informers.forResource<ClusterRole>(info);
    this.roles = this.informer.lister();
    this.client = ctx.client.resource<ClusterRole>(info);
    // Any role's change may change any aggregated role: enqueue every aggregated one.
    const enqueueAggregated = (): void => {
      for (const r of this.roles.list()) if (r.aggregationRule) this.queue.add(r.metadata.name!);
    };
    this.informer.addEventHandler({
      add: enqueueAggregated,
      update: (o, n) => {
        if (o.metadata.resourceVersion !== n.metadata.resourceVersion) enqueueAggregated();
      },
      delete: (r) => {
        unwrapTombstone(r);
        enqueueAggregated();
      },
    });
  }

  protected cachesToSync() {
    return [this.informer as SharedInformer];
  }

  async sync(name: string): Promise<void> {
    const role = this.roles.get(name);
    if (!role?.aggregationRule) return;
    const rules = aggregatedRules(role, this.roles.list());
    if (JSON.stringify(rules) === JSON.stringify(role.rules ?? [])) return;
    const next = structuredClone(role);
    next.rules = rules;
    await this.client.update(next);
    this.ctx.log.info({ clusterRole: name, rules: rules.length }, "aggregated cluster role rules");
  }
}

export const newClusterRoleAggregationController: ControllerConstructor = (ctx) =>
  new ClusterRoleAggregationController(ctx);
