// autoscaling/v2 HorizontalPodAutoscaler.
import type { Static } from "@sinclair/typebox";
import {
  anyObject,
  atomic,
  int32,
  int64,
  keyed,
  named,
  opt,
  quantity,
  str,
  time,
  typeMeta,
} from "./helpers.js";
import { ObjectMetaSchema } from "./meta.js";

const V2 = "io.k8s.api.autoscaling.v2";

export const CrossVersionObjectReferenceSchema = named(`${V2}.CrossVersionObjectReference`, {
  apiVersion: opt(str()),
  kind: str(),
  name: str(),
});

export const MetricTargetSchema = named(`${V2}.MetricTarget`, {
  type: str(),
  value: opt(quantity()),
  averageValue: opt(quantity()),
  averageUtilization: opt(int32()),
});
export type MetricTarget = Static<typeof MetricTargetSchema>;

export const MetricValueStatusSchema = named(`${V2}.MetricValueStatus`, {
  value: opt(quantity()),
  averageValue: opt(quantity()),
  averageUtilization: opt(int32()),
});

export const ResourceMetricSourceSchema = named(`${V2}.ResourceMetricSource`, {
  name: str(),
  target: MetricTargetSchema,
});

export const ContainerResourceMetricSourceSchema = named(`${V2}.ContainerResourceMetricSource`, {
  name: str(),
  target: MetricTargetSchema,
  container: str(),
});

export const MetricSpecSchema = named(`${V2}.MetricSpec`, {
  type: str(),
  resource: opt(ResourceMetricSourceSchema),
  containerResource: opt(ContainerResourceMetricSourceSchema),
  // Custom and external metrics: accepted and stored; the controller reports them as
  // unavailable (Skiff serves no custom.metrics.k8s.io / external.metrics.k8s.io).
  pods: opt(anyObject()),
  object: opt(anyObject()),
  external: opt(anyObject()),
});
export type MetricSpec = Static<typeof MetricSpecSchema>;

export const MetricStatusSchema = named(`${V2}.MetricStatus`, {
  type: str(),
  resource: opt(
    named(`${V2}.ResourceMetricStatus`, { name: str(), current: MetricValueStatusSchema }),
  ),
  containerResource: opt(
    named(`${V2}.ContainerResourceMetricStatus`, {
      name: str(),
      current: MetricValueStatusSchema,
      container: str(),
    }),
  ),
  pods: opt(anyObject()),
  object: opt(anyObject()),
  external: opt(anyObject()),
});
export type MetricStatus = Static<typeof MetricStatusSchema>;

export const HPAScalingPolicySchema = named(`${V2}.HPAScalingPolicy`, {
  type: str(),
  value: int32(),
  periodSeconds: int32(),
});

export const HPAScalingRulesSchema = named(`${V2}.HPAScalingRules`, {
  stabilizationWindowSeconds: opt(int32()),
  selectPolicy: opt(str()),
  policies: opt(atomic(HPAScalingPolicySchema)),
});

export const HorizontalPodAutoscalerBehaviorSchema = named(
  `${V2}.HorizontalPodAutoscalerBehavior`,
  { scaleUp: opt(HPAScalingRulesSchema), scaleDown: opt(HPAScalingRulesSchema) },
);

export const HorizontalPodAutoscalerSpecSchema = named(`${V2}.HorizontalPodAutoscalerSpec`, {
  scaleTargetRef: CrossVersionObjectReferenceSchema,
  minReplicas: opt(int32({ default: 1 })),
  maxReplicas: int32(),
  metrics: opt(atomic(MetricSpecSchema)),
  behavior: opt(HorizontalPodAutoscalerBehaviorSchema),
});
export type HorizontalPodAutoscalerSpec = Static<typeof HorizontalPodAutoscalerSpecSchema>;

export const HorizontalPodAutoscalerConditionSchema = named(
  `${V2}.HorizontalPodAutoscalerCondition`,
  {
    type: str(),
    status: str(),
    lastTransitionTime: opt(time()),
    reason: opt(str()),
    message: opt(str()),
  },
);
export type HorizontalPodAutoscalerCondition = Static<
  typeof HorizontalPodAutoscalerConditionSchema
>;

export const HorizontalPodAutoscalerStatusSchema = named(`${V2}.HorizontalPodAutoscalerStatus`, {
  observedGeneration: opt(int64()),
  lastScaleTime: opt(time()),
  currentReplicas: opt(int32()),
  desiredReplicas: int32(),
  currentMetrics: opt(atomic(MetricStatusSchema)),
  conditions: opt(keyed(HorizontalPodAutoscalerConditionSchema, "type")),
});

export const HorizontalPodAutoscalerSchema = named(`${V2}.HorizontalPodAutoscaler`, {
  ...typeMeta,
  metadata: opt(ObjectMetaSchema),
  spec: opt(HorizontalPodAutoscalerSpecSchema),
  status: opt(HorizontalPodAutoscalerStatusSchema),
});
export type HorizontalPodAutoscaler = Static<typeof HorizontalPodAutoscalerSchema>;
