// autoscaling/v1 HorizontalPodAutoscaler: a view of the autoscaling/v2 objects (the stored
// version), converted both ways as Kubernetes converts them — targetCPUUtilizationPercentage
// is the v2 cpu Utilization metric, currentCPUUtilizationPercentage its current value.
// kubectl autoscale (1.31) creates v1 objects; everything else reads v2, the preferred version.
// Served here: create, get, list, replace, patch (merge, JSON, strategic: what `kubectl apply`
// and `kubectl edit` send), delete. Watch and server-side apply are v2 only (405 / 415 here).
import type { IncomingMessage, ServerResponse } from "node:http";
import { resourceInfo, type APIResourceList } from "@skiff/api";
import { BadRequestError, MethodNotAllowedError, UnknownResourceError } from "./errors.js";
import type { HandlerContext } from "./handlers/context.js";
import { applyPatch, patchErrors } from "./handlers/patch.js";
import { bodyType, decode, readBody, sendJson } from "./request.js";
import type { KubeObject } from "./objects.js";
import type { UserInfo } from "./auth.js";
import type { AdmissionRequest } from "./webhooks/dispatch.js";

type J = Record<string, unknown>;
const rec = (v: unknown): J =>
  typeof v === "object" && v !== null && !Array.isArray(v) ? (v as J) : {};

export const HPA_V1_PREFIX = ["apis", "autoscaling", "v1"];

export function hpaV1ResourceList(): APIResourceList {
  return {
    kind: "APIResourceList",
    apiVersion: "v1",
    groupVersion: "autoscaling/v1",
    resources: [
      {
        name: "horizontalpodautoscalers",
        singularName: "horizontalpodautoscaler",
        namespaced: true,
        kind: "HorizontalPodAutoscaler",
        verbs: ["create", "delete", "get", "list", "patch", "update"],
        shortNames: ["hpa"],
        categories: ["all"],
      },
    ],
  };
}

function isCpuUtilization(m: J): boolean {
  const r = rec(m["resource"]);
  return (
    m["type"] === "Resource" && r["name"] === "cpu" && rec(r["target"])["type"] === "Utilization"
  );
}

/** v2 → v1. */
export function toV1(obj: KubeObject): KubeObject {
  const spec = rec(obj.spec);
  const status = obj.status ? rec(obj.status) : undefined;
  const cpu = (Array.isArray(spec["metrics"]) ? (spec["metrics"] as J[]) : []).find(
    isCpuUtilization,
  );
  const v1Spec: J = {
    scaleTargetRef: spec["scaleTargetRef"],
    minReplicas: spec["minReplicas"],
    maxReplicas: spec["maxReplicas"],
  };
  if (cpu)
    v1Spec.targetCPUUtilizationPercentage = rec(rec(rec(cpu)["resource"])["target"])[
      "averageUtilization"
    ];
  const out: KubeObject = {
    kind: "HorizontalPodAutoscaler",
    apiVersion: "autoscaling/v1",
    metadata: obj.metadata,
    spec: v1Spec,
  };
  if (status) {
    const current = (
      Array.isArray(status["currentMetrics"]) ? (status["currentMetrics"] as J[]) : []
    ).find((m) => m["type"] === "Resource" && rec(m["resource"])["name"] === "cpu");
    const util = rec(rec(rec(current)["resource"])["current"])["averageUtilization"];
    out.status = {
      observedGeneration: status["observedGeneration"],
      lastScaleTime: status["lastScaleTime"],
      currentReplicas: status["currentReplicas"] ?? 0,
      desiredReplicas: status["desiredReplicas"] ?? 0,
      ...(typeof util === "number" ? { currentCPUUtilizationPercentage: util } : {}),
    };
  }
  return out;
}

/** v1 → v2 (what is stored). */
export function fromV1(obj: J): KubeObject {
  const spec = rec(obj["spec"]);
  const v2Spec: J = {
    scaleTargetRef: spec["scaleTargetRef"],
    maxReplicas: spec["maxReplicas"],
  };
  if (spec["minReplicas"] !== undefined) v2Spec.minReplicas = spec["minReplicas"];
  const target = spec["targetCPUUtilizationPercentage"];
  if (target !== undefined) {
    v2Spec.metrics = [
      {
        type: "Resource",
        resource: { name: "cpu", target: { type: "Utilization", averageUtilization: target } },
      },
    ];
  }
  return {
    apiVersion: "autoscaling/v2",
    kind: "HorizontalPodAutoscaler",
    metadata: rec(obj["metadata"]) as KubeObject["metadata"],
    spec: v2Spec,
  };
}

/**
 * A v1 write onto the stored v2 object: v1's fields replace theirs, and what v1 cannot say
 * (other metrics, behavior) stays.
 */
function withV1(cur: KubeObject, v2: KubeObject): KubeObject {
  return {
    ...cur,
    metadata: { ...cur.metadata, ...v2.metadata },
    spec: { ...rec(cur.spec), ...rec(v2.spec) },
  };
}

/** autoscaling in /apis and /apis/autoscaling: v2 (preferred) and v1. */
export function autoscalingGroup(): object {
  const v2 = { groupVersion: "autoscaling/v2", version: "v2" };
  return {
    name: "autoscaling",
    versions: [v2, { groupVersion: "autoscaling/v1", version: "v1" }],
    preferredVersion: v2,
  };
}

/** Serves /apis/autoscaling/v1/[namespaces/{ns}/]horizontalpodautoscalers[/{name}]. */
export async function serveHpaV1(
  ctx: HandlerContext,
  rest: string[],
  req: IncomingMessage,
  res: ServerResponse,
  user?: UserInfo,
): Promise<void> {
  // Writes reach admission webhooks as the autoscaling/v2 objects they are stored as (the
  // version a rule matching v2 or "*" asks for: matchPolicy Equivalent).
  const admission = (kind: string): AdmissionRequest | undefined =>
    user ? { user, options: { kind, apiVersion: "meta.k8s.io/v1" }, warnings: [] } : undefined;
  let ns: string | undefined;
  let parts = rest;
  if (parts[0] === "namespaces" && parts.length >= 3) {
    ns = parts[1];
    parts = parts.slice(2);
  }
  const [resource, name, ...extra] = parts;
  if (resource !== "horizontalpodautoscalers" || extra.length > 0) {
    throw new UnknownResourceError(req.url ?? "");
  }
  const registry = ctx.registry(resourceInfo("autoscaling", "v2", "horizontalpodautoscalers"));
  const method = req.method ?? "GET";
  const body = async (): Promise<J> => {
    try {
      return rec(JSON.parse((await readBody(req)).toString() || "{}"));
    } catch (err) {
      throw new BadRequestError(`the body is not JSON: ${(err as Error).message}`);
    }
  };
  if (name === undefined) {
    if (method === "GET") {
      const page = await registry.list(ns, {});
      sendJson(res, 200, {
        kind: "HorizontalPodAutoscalerList",
        apiVersion: "autoscaling/v1",
        metadata: { resourceVersion: page.resourceVersion },
        items: page.items.map(toV1),
      });
      return;
    }
    if (method === "POST" && ns !== undefined) {
      const created = await registry.create(ns, fromV1(await body()), {
        admission: admission("CreateOptions"),
      });
      sendJson(res, 201, toV1(created));
      return;
    }
    throw new MethodNotAllowedError(method, "horizontalpodautoscalers");
  }
  if (ns === undefined) throw new UnknownResourceError(req.url ?? "");
  switch (method) {
    case "GET":
      sendJson(res, 200, toV1(await registry.get(ns, name)));
      return;
    case "PUT": {
      const v2 = fromV1(await body());
      const rv = v2.metadata.resourceVersion;
      const { object } = await registry.update(ns, name, (cur) => withV1(cur, v2), {
        ...(typeof rv === "string" && rv ? { precondition: rv } : {}),
        admission: admission("UpdateOptions"),
      });
      sendJson(res, 200, toV1(object));
      return;
    }
    case "PATCH": {
      const type = bodyType(req, ["merge", "jsonpatch", "strategic"]);
      const patchBody = decode(await readBody(req), type, "patch");
      const info = resourceInfo("autoscaling", "v2", "horizontalpodautoscalers");
      const { object } = await registry.update(
        ns,
        name,
        (cur) =>
          withV1(cur, fromV1(rec(patchErrors(() => applyPatch(type, toV1(cur), patchBody, info))))),
        { admission: admission("UpdateOptions") },
      );
      sendJson(res, 200, toV1(object));
      return;
    }
    case "DELETE": {
      const { object } = await registry.delete(ns, name, {
        admission: admission("DeleteOptions"),
      });
      sendJson(res, 200, toV1(object));
      return;
    }
    default:
      throw new MethodNotAllowedError(method, "horizontalpodautoscalers");
  }
}
