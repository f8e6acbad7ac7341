// From the replica count the metrics ask for to the one the HPA sets, as Kubernetes'
// HPA controller does it — pure functions over the HPA's recent recommendations and scale
// events, which the controller keeps per HPA in memory.
//
// With `spec.behavior` (autoscaling/v2): stabilization (the lowest recommendation of the
// scale-up window, the highest of the scale-down window, default 0 s and 300 s), then the
// rate policies (per period, Pods or Percent, selectPolicy Max/Min/Disabled), then min/max.
// Without it: the highest recommendation of the last 5 minutes, then at most
// max(2 × current, 4) and min/max replicas.

import type { HorizontalPodAutoscalerBehavior, HPAScalingRules } from "@skiff/api/light";

/** --horizontal-pod-autoscaler-downscale-stabilization */
export const DOWNSCALE_STABILIZATION_SECONDS = 300;
const SCALE_UP_LIMIT_FACTOR = 2;
const SCALE_UP_LIMIT_MINIMUM = 4;

/** autoscaling/v2 defaults for scaleUp (filled where a given behavior leaves fields out). */
export function defaultScaleUp(r: HPAScalingRules = {}): Required<HPAScalingRules> {
  return {
    stabilizationWindowSeconds: r.stabilizationWindowSeconds ?? 0,
    selectPolicy: r.selectPolicy ?? "Max",
    policies: r.policies ?? [
      { type: "Pods", value: 4, periodSeconds: 15 },
      { type: "Percent", value: 100, periodSeconds: 15 },
    ],
  };
}

/** autoscaling/v2 defaults for scaleDown; the window defaults to the controller's 300 s. */
export function defaultScaleDown(r: HPAScalingRules = {}): Required<HPAScalingRules> {
  return {
    stabilizationWindowSeconds: r.stabilizationWindowSeconds ?? DOWNSCALE_STABILIZATION_SECONDS,
    selectPolicy: r.selectPolicy ?? "Max",
    policies: r.policies ?? [{ type: "Percent", value: 100, periodSeconds: 15 }],
  };
}

export interface Recommendation {
  at: number;
  replicas: number;
}

export interface ScaleEvent {
  at: number;
  /** Replicas added (scale-up list) or removed (scale-down list), positive. */
  change: number;
}

export interface History {
  recommendations: Recommendation[];
  scaleUps: ScaleEvent[];
  scaleDowns: ScaleEvent[];
}

export interface NormalizeInput {
  currentReplicas: number;
  /** What the metrics ask for. */
  desiredReplicas: number;
  minReplicas: number;
  maxReplicas: number;
  behavior?: HorizontalPodAutoscalerBehavior;
  history: History;
  now: number;
}

export interface Condition {
  status: "True" | "False";
  reason: string;
  message: string;
}

export interface NormalizeResult {
  replicas: number;
  /** AbleToScale (ScaleUpStabilized, ScaleDownStabilized or ReadyForNewScale). */
  ableToScale: Condition;
  /** ScalingLimited: True when min/max or a rate limit changed the count. */
  scalingLimited: Condition;
  /** The history with this recommendation recorded and stale entries dropped. */
  history: History;
}

const STABILIZED_DOWN: Condition = {
  status: "True",
  reason: "ScaleDownStabilized",
  message:
    "recent recommendations were higher than current one, applying the highest recent recommendation",
};
const STABILIZED_UP: Condition = {
  status: "True",
  reason: "ScaleUpStabilized",
  message:
    "recent recommendations were lower than current one, applying the lowest recent recommendation",
};
const READY: Condition = {
  status: "True",
  reason: "ReadyForNewScale",
  message: "recommended size matches current size",
};

/** Kubernetes' ScalingLimited reasons and messages. */
const LIMIT = {
  TooFewReplicas: "the desired replica count is less than the minimum replica count",
  TooManyReplicas: "the desired replica count is more than the maximum replica count",
  ScaleUpLimit: "the desired replica count is increasing faster than the maximum scale rate",
  ScaleDownLimit: "the desired replica count is decreasing faster than the maximum scale rate",
  DesiredWithinRange: "the desired count is within the acceptable range",
} as const;
type LimitReason = keyof typeof LIMIT;

export function normalizeReplicas(input: NormalizeInput): NormalizeResult {
  return input.behavior ? withBehavior(input, input.behavior) : withoutBehavior(input);
}

function withoutBehavior(input: NormalizeInput): NormalizeResult {
  const { now, desiredReplicas, currentReplicas } = input;
  const cutoff = now - DOWNSCALE_STABILIZATION_SECONDS * 1000;
  let stabilized = desiredReplicas;
  for (const r of input.history.recommendations) {
    if (r.at > cutoff) stabilized = Math.max(stabilized, r.replicas);
  }
  const recommendations = [
    ...input.history.recommendations.filter((r) => r.at > cutoff),
    { at: now, replicas: desiredReplicas },
  ];
  const upLimit = Math.floor(
    Math.max(SCALE_UP_LIMIT_FACTOR * currentReplicas, SCALE_UP_LIMIT_MINIMUM),
  );
  let maxAllowed = input.maxReplicas;
  let maxReason: LimitReason = "TooManyReplicas";
  if (input.maxReplicas > upLimit) {
    maxAllowed = upLimit;
    maxReason = "ScaleUpLimit";
  }
  let replicas = stabilized;
  let reason: LimitReason = "DesiredWithinRange";
  if (stabilized < input.minReplicas) {
    replicas = input.minReplicas;
    reason = "TooFewReplicas";
  } else if (stabilized > maxAllowed) {
    replicas = maxAllowed;
    reason = maxReason;
  }
  return {
    replicas,
    ableToScale: stabilized !== desiredReplicas ? STABILIZED_DOWN : READY,
    scalingLimited: limited(replicas !== stabilized, reason),
    history: { ...input.history, recommendations },
  };
}

function limited(isLimited: boolean, reason: LimitReason): Condition {
  return { status: isLimited ? "True" : "False", reason, message: LIMIT[reason] };
}

function withBehavior(
  input: NormalizeInput,
  behavior: HorizontalPodAutoscalerBehavior,
): NormalizeResult {
  const { now, desiredReplicas, currentReplicas } = input;
  const up = defaultScaleUp(behavior.scaleUp);
  const down = defaultScaleDown(behavior.scaleDown);
  // Stabilization: never above the lowest recommendation of the up window, never below the
  // highest of the down window; the current count in between.
  const upCutoff = now - up.stabilizationWindowSeconds * 1000;
  const downCutoff = now - down.stabilizationWindowSeconds * 1000;
  let upRec = desiredReplicas;
  let downRec = desiredReplicas;
  for (const r of input.history.recommendations) {
    if (r.at > upCutoff) upRec = Math.min(upRec, r.replicas);
    if (r.at > downCutoff) downRec = Math.max(downRec, r.replicas);
  }
  let stabilized = currentReplicas;
  if (stabilized < upRec) stabilized = upRec;
  if (stabilized > downRec) stabilized = downRec;
  const keepFrom = Math.min(upCutoff, downCutoff);
  const recommendations = [
    ...input.history.recommendations.filter((r) => r.at > keepFrom),
    { at: now, replicas: desiredReplicas },
  ];
  let ableToScale = READY;
  if (stabilized !== desiredReplicas) {
    ableToScale = stabilized < desiredReplicas ? STABILIZED_UP : STABILIZED_DOWN;
  }

  // Rate: the policies' limits from the count at the start of each policy's period.
  const h = input.history;
  let replicas = stabilized;
  let reason: LimitReason = "DesiredWithinRange";
  if (stabilized > currentReplicas) {
    const limit = Math.max(scaleUpLimit(currentReplicas, h, up, now), currentReplicas);
    let maxAllowed = input.maxReplicas;
    let maxReason: LimitReason = "TooManyReplicas";
    if (maxAllowed > limit) {
      maxAllowed = limit;
      maxReason = "ScaleUpLimit";
    }
    if (stabilized > maxAllowed) {
      replicas = maxAllowed;
      reason = maxReason;
    }
  } else if (stabilized < currentReplicas) {
    const limit = Math.min(scaleDownLimit(currentReplicas, h, down, now), currentReplicas);
    let minAllowed = input.minReplicas;
    let minReason: LimitReason = "TooFewReplicas";
    if (minAllowed < limit) {
      minAllowed = limit;
      minReason = "ScaleDownLimit";
    }
    if (stabilized < minAllowed) {
      replicas = minAllowed;
      reason = minReason;
    }
  }
  return {
    replicas,
    ableToScale,
    scalingLimited: limited(replicas !== stabilized, reason),
    history: { ...h, recommendations },
  };
}

/** Replicas added (or removed) within the last `periodSeconds`. */
function changeInPeriod(events: ScaleEvent[], periodSeconds: number, now: number): number {
  const cutoff = now - periodSeconds * 1000;
  return events.filter((e) => e.at > cutoff).reduce((sum, e) => sum + e.change, 0);
}

function periodStart(current: number, h: History, periodSeconds: number, now: number): number {
  return (
    current -
    changeInPeriod(h.scaleUps, periodSeconds, now) +
    changeInPeriod(h.scaleDowns, periodSeconds, now)
  );
}

export function scaleUpLimit(
  current: number,
  h: History,
  rules: Required<HPAScalingRules>,
  now: number,
): number {
  if (rules.selectPolicy === "Disabled") return current;
  const pick = rules.selectPolicy === "Min" ? Math.min : Math.max;
  let result = rules.selectPolicy === "Min" ? Infinity : -Infinity;
  for (const p of rules.policies) {
    const start = periodStart(current, h, p.periodSeconds, now);
    const proposed = p.type === "Pods" ? start + p.value : Math.ceil(start * (1 + p.value / 100));
    result = pick(result, proposed);
  }
  return result;
}

export function scaleDownLimit(
  current: number,
  h: History,
  rules: Required<HPAScalingRules>,
  now: number,
): number {
  if (rules.selectPolicy === "Disabled") return current;
  // Max picks the policy that allows the largest change: the lowest limit.
  const pick = rules.selectPolicy === "Min" ? Math.max : Math.min;
  let result = rules.selectPolicy === "Min" ? -Infinity : Infinity;
  for (const p of rules.policies) {
    const start = periodStart(current, h, p.periodSeconds, now);
    const proposed = p.type === "Pods" ? start - p.value : Math.trunc(start * (1 - p.value / 100));
    result = pick(result, proposed);
  }
  return result;
}

/** Records a scale from `from` to `to` at `now`, dropping events older than every period. */
export function recordScale(
  h: History,
  from: number,
  to: number,
  behavior: HorizontalPodAutoscalerBehavior | undefined,
  now: number,
): History {
  const longest = (rules: Required<HPAScalingRules>): number =>
    Math.max(0, ...rules.policies.map((p) => p.periodSeconds));
  const upKeep = now - longest(defaultScaleUp(behavior?.scaleUp)) * 1000;
  const downKeep = now - longest(defaultScaleDown(behavior?.scaleDown)) * 1000;
  const scaleUps = h.scaleUps.filter((e) => e.at > upKeep);
  const scaleDowns = h.scaleDowns.filter((e) => e.at > downKeep);
  if (to > from) scaleUps.push({ at: now, change: to - from });
  if (to < from) scaleDowns.push({ at: now, change: from - to });
  return { ...h, scaleUps, scaleDowns };
}

export function emptyHistory(): History {
  return { recommendations: [], scaleUps: [], scaleDowns: [] };
}
