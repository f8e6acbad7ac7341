// policy/v1 PodDisruptionBudget.
import { Type, type Static } from "@sinclair/typebox";
import {
  int32,
  int64,
  intOrString,
  keyed,
  named,
  opt,
  str,
  time,
  withPatchStrategy,
} from "./helpers.js";
import { ConditionSchema, LabelSelectorSchema, kindSchema } from "./meta.js";

const POLICY = "io.k8s.api.policy.v1";

export const PodDisruptionBudgetSpecSchema = named(`${POLICY}.PodDisruptionBudgetSpec`, {
  minAvailable: opt(intOrString()),
  selector: opt(withPatchStrategy(LabelSelectorSchema, "replace")),
  maxUnavailable: opt(intOrString()),
  unhealthyPodEvictionPolicy: opt(str()),
});
export type PodDisruptionBudgetSpec = Static<typeof PodDisruptionBudgetSpecSchema>;

export const PodDisruptionBudgetStatusSchema = named(`${POLICY}.PodDisruptionBudgetStatus`, {
  observedGeneration: opt(int64()),
  disruptedPods: opt(Type.Record(Type.String(), time())),
  disruptionsAllowed: int32(),
  currentHealthy: int32(),
  desiredHealthy: int32(),
  expectedPods: int32(),
  conditions: opt(keyed(ConditionSchema, "type")),
});
export type PodDisruptionBudgetStatus = Static<typeof PodDisruptionBudgetStatusSchema>;

export const PodDisruptionBudgetSchema = kindSchema(
  `${POLICY}.PodDisruptionBudget`,
  PodDisruptionBudgetSpecSchema,
  PodDisruptionBudgetStatusSchema,
  { disruptionsAllowed: 0, currentHealthy: 0, desiredHealthy: 0, expectedPods: 0 },
);
export type PodDisruptionBudget = Static<typeof PodDisruptionBudgetSchema>;
