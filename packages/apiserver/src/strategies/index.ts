// Per-kind rules: one Strategy per kind that has any (pod.ts, service.ts, namespace.ts…),
// behind one small interface the generic registry consults by kind. A kind without a file
// here follows the rules every kind shares, in registry.ts.
import { randomUUID } from "node:crypto";
import type { ResourceInfo } from "@skiff/api";
import { jsonEqual, type KubeObject } from "../objects.js";
import { customResourceDefinitionStrategy } from "./customresourcedefinition.js";
import { eventStrategy } from "./event.js";
import { jobStrategy } from "./job.js";
import { namespaceStrategy } from "./namespace.js";
import { nodeStrategy } from "./node.js";
import { podStrategy } from "./pod.js";
import { serviceStrategy } from "./service.js";
import type { Strategy } from "./strategy.js";

export type { ClaimRules, Strategy } from "./strategy.js";

const strategies: Record<string, Strategy> = {
  CustomResourceDefinition: customResourceDefinitionStrategy,
  Event: eventStrategy,
  Job: jobStrategy,
  Namespace: namespaceStrategy,
  Node: nodeStrategy,
  Pod: podStrategy,
  Service: serviceStrategy,
};

const none: Strategy = {};

/** The rules of a resource's kind; custom resources have none of the built-in kinds' rules. */
export function strategyFor(info: ResourceInfo): Strategy {
  if (info.custom) return none;
  return strategies[info.kind] ?? none;
}

/** The fields outside metadata and status; a change to them bumps metadata.generation. */
export function specOf(obj: KubeObject): Record<string, unknown> {
  const rest: Record<string, unknown> = {};
  for (const [k, v] of Object.entries(obj)) {
    if (k !== "metadata" && k !== "status" && k !== "kind" && k !== "apiVersion") rest[k] = v;
  }
  return rest;
}

export function specChanged(a: KubeObject, b: KubeObject): boolean {
  return !jsonEqual(specOf(a), specOf(b));
}

export function newUid(): string {
  return randomUUID();
}
