// @skiff/api: the Kubernetes resource types Skiff serves, with their schemas, defaults,
// validation, selectors and quantities.
//
//   import { findResource, parseLabelSelector, matchesLabels } from "@skiff/api";
//   const pods = findResource("", "v1", "pods");
//   matchesLabels(parseLabelSelector("app=web,tier!=db"), pod.metadata.labels);
import type { HorizontalPodAutoscalerSpec } from "./schemas/autoscaling.js";

export * from "./light.js"; // resources, quantities, selectors, pods, cron, quota usage
export * from "./fields.js";
export * from "./schema.js";
export * from "./defaults.js";
export * from "./validation.js";
export * from "./prune.js";
export * from "./admission-cel.js";
export * from "./admission-policy-cel.js";
export * from "./openapi.js";
export * from "./openapi-v2.js";
export * from "./protobuf.js";
export { protobufMessages, type ProtoField, type ProtoFieldMode } from "./protobuf-fields.js";
export * from "./apiextensions/crd.js";
export * from "./apiextensions/jsonschema.js";
export { celRuleErrors } from "./apiextensions/cel.js";
export type * from "./metrics.js";
export type * from "./stats.js";

// The autoscaling/v2 behavior types, for the HPA controller's pure functions; derived from
// the HorizontalPodAutoscaler schema (its named parts are not exported as types there).
export type HorizontalPodAutoscalerBehavior = NonNullable<HorizontalPodAutoscalerSpec["behavior"]>;
export type HPAScalingRules = NonNullable<HorizontalPodAutoscalerBehavior["scaleUp"]>;
export type HPAScalingPolicy = NonNullable<HPAScalingRules["policies"]>[number];
