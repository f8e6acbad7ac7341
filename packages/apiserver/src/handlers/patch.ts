// The patch types Kubernetes accepts (merge, JSON, strategic merge; server-side apply is in
// update.ts) applied to an object or a Scale, and their failures as API errors.
import type { ResourceInfo } from "@skiff/api";
import { BadRequestError, PatchFailedError, UnsupportedMediaTypeError } from "../errors.js";
import { apiVersionOf } from "@skiff/api";
import { isObject, now, type KubeObject } from "../objects.js";
import {
  jsonPatch,
  mergePatch,
  PatchError,
  strategicMergePatch,
  trackUpdate,
} from "../patch/index.js";
import type { BodyType } from "../request.js";
import { rvOf } from "./params.js";

/** Applies a patch body of the given type to an object (or a Scale). */
export function applyPatch(
  type: BodyType,
  current: unknown,
  patchBody: unknown,
  info: ResourceInfo,
): unknown {
  switch (type) {
    case "merge":
      if (!isObject(patchBody)) throw new BadRequestError("a merge patch must be a JSON object");
      return mergePatch(current, patchBody);
    case "jsonpatch":
      return jsonPatch(current, patchBody);
    case "strategic":
      if (info.custom) {
        // Custom resources have no patch strategies to merge by, as in Kubernetes.
        throw new UnsupportedMediaTypeError("application/strategic-merge-patch+json", [
          "application/json-patch+json",
          "application/merge-patch+json",
          "application/apply-patch+yaml",
        ]);
      }
      if (!isObject(patchBody))
        throw new BadRequestError("a strategic merge patch must be a JSON object");
      return strategicMergePatch(current, patchBody, info);
    default:
      throw new BadRequestError(`unsupported patch type ${type}`);
  }
}

/** Runs a patch function, turning its PatchError into the API error a client sees. */
export function patchErrors<T>(fn: () => T): T {
  try {
    return fn();
  } catch (err) {
    if (err instanceof PatchError) {
      throw new PatchFailedError(err.code, err.reason, err.message, err.causes);
    }
    throw err;
  }
}

/** The resourceVersion a patch itself names, if any; a patch without one applies to the latest. */
export function patchPrecondition(type: BodyType, patchBody: unknown): string | undefined {
  if (type !== "jsonpatch") return rvOf(patchBody);
  if (!Array.isArray(patchBody)) return undefined;
  for (const op of patchBody) {
    if (
      isObject(op) &&
      op.path === "/metadata/resourceVersion" &&
      (op.op === "test" || op.op === "replace")
    ) {
      return typeof op.value === "string" ? op.value : undefined;
    }
  }
  return undefined;
}

/**
 * `updated` with its managedFields entry for an Update by `manager` (create, PUT, patch).
 * `owned`: obj is not used after (a create's decoded body), so it is not copied.
 */
export function trackedUpdate(
  info: ResourceInfo,
  old: KubeObject | undefined,
  obj: KubeObject,
  manager: string,
  owned = false,
): KubeObject {
  return trackUpdate({
    old,
    updated: obj,
    manager,
    operation: "Update",
    apiVersion: apiVersionOf(info),
    now: now(),
    kind: info,
    owned,
  }) as KubeObject;
}
