// What admission webhooks are told of a request: the options of a write, and the admission of
// subresources that are no write of the resource itself (CONNECT, eviction, scale).
import type { KubeObject } from "../objects.js";
import { admitSubresource, type AdmissionRequest } from "../webhooks/dispatch.js";
import type { Operation } from "../webhooks/match.js";
import type { RequestContext } from "./context.js";
import { dryRunRequested } from "./params.js";

/** Webhooks on a subresource request: CONNECT to pods/exec, CREATE of pods/eviction… */
export function admitRequest(
  r: RequestContext,
  operation: Operation,
  object: Record<string, unknown>,
  objectKind: { group: string; version: string; kind: string },
  options: AdmissionRequest,
  oldObject?: Record<string, unknown>,
): Promise<KubeObject> {
  const { info, namespace, name, subresource } = r.route;
  return admitSubresource(
    r.ctx.webhooks,
    {
      info,
      operation,
      subresource,
      namespace,
      name: name ?? "",
      objectKind,
      dryRun: dryRunRequested(r.query),
      request: options,
    },
    object as KubeObject,
    oldObject as KubeObject | undefined,
  );
}

/** What admission webhooks learn of a client's write: who asks, with which options. */
export function admissionOf(
  r: RequestContext,
  kind: "CreateOptions" | "UpdateOptions" | "DeleteOptions",
  extra: Record<string, unknown> = {},
): AdmissionRequest {
  const options: Record<string, unknown> = { kind, apiVersion: "meta.k8s.io/v1", ...extra };
  if (r.query.getAll("dryRun").length) options.dryRun = ["All"];
  const manager = r.query.get("fieldManager");
  if (manager && kind !== "DeleteOptions") options.fieldManager = manager;
  return { user: r.user, options, warnings: [] };
}
