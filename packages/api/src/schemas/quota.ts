// scheduling.k8s.io/v1 PriorityClass; core/v1 ResourceQuota and LimitRange.
import type { Static } from "@sinclair/typebox";
import {
  atomic,
  bool,
  int32,
  named,
  opt,
  resourceList,
  str,
  typeMeta,
  withDefault,
} from "./helpers.js";
import { ObjectMetaSchema } from "./meta.js";

const CORE = "io.k8s.api.core.v1";

export const PriorityClassSchema = named("io.k8s.api.scheduling.v1.PriorityClass", {
  ...typeMeta,
  metadata: opt(ObjectMetaSchema),
  value: int32(),
  globalDefault: opt(bool()),
  description: opt(str()),
  preemptionPolicy: opt(str({ default: "PreemptLowerPriority" })),
});
export type PriorityClass = Static<typeof PriorityClassSchema>;

export const ResourceQuotaSchema = named(`${CORE}.ResourceQuota`, {
  ...typeMeta,
  metadata: opt(ObjectMetaSchema),
  spec: opt(
    named(`${CORE}.ResourceQuotaSpec`, {
      hard: opt(resourceList()),
      scopes: opt(atomic(str())),
      scopeSelector: opt(
        named(
          `${CORE}.ScopeSelector`,
          {
            matchExpressions: opt(
              atomic(
                named(`${CORE}.ScopedResourceSelectorRequirement`, {
                  scopeName: str(),
                  operator: str(),
                  values: opt(atomic(str())),
                }),
              ),
            ),
          },
          { "x-kubernetes-map-type": "atomic" },
        ),
      ),
    }),
  ),
  status: opt(
    withDefault(
      named(`${CORE}.ResourceQuotaStatus`, {
        hard: opt(resourceList()),
        used: opt(resourceList()),
      }),
      {},
    ),
  ),
});
export type ResourceQuota = Static<typeof ResourceQuotaSchema>;

export const LimitRangeItemSchema = named(`${CORE}.LimitRangeItem`, {
  type: str(),
  max: opt(resourceList()),
  min: opt(resourceList()),
  default: opt(resourceList()),
  defaultRequest: opt(resourceList()),
  maxLimitRequestRatio: opt(resourceList()),
});
export type LimitRangeItem = Static<typeof LimitRangeItemSchema>;

export const LimitRangeSchema = named(`${CORE}.LimitRange`, {
  ...typeMeta,
  metadata: opt(ObjectMetaSchema),
  spec: opt(named(`${CORE}.LimitRangeSpec`, { limits: atomic(LimitRangeItemSchema) })),
});
export type LimitRange = Static<typeof LimitRangeSchema>;
