// RFC 7386 JSON merge patch (`application/merge-patch+json`), as `kubectl label` and `scale` send it.

import { clone, isObject, own, put } from "./json.js";

/** Applies `patch` to `target`: objects merge key by key, `null` deletes a key, anything else replaces. */
export function mergePatch(target: unknown, patch: unknown): unknown {
  return mergeInto(clone(target), patch);
}

// `target` is already a private copy here, so it may be changed in place.
function mergeInto(target: unknown, patch: unknown): unknown {
  if (!isObject(patch)) return clone(patch);
  const result = isObject(target) ? target : {};
  for (const [key, value] of Object.entries(patch)) {
    if (value === null) delete result[key];
    else put(result, key, mergeInto(own(result, key), value));
  }
  return result;
}
