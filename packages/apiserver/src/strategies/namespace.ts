// Namespaces: Active when created; deleted only once the namespace controller has emptied
// them and cleared spec.finalizers, Terminating until then.
import { get, type KubeObject } from "../objects.js";
import type { Strategy } from "./strategy.js";

function specFinalizers(ns: KubeObject): unknown[] {
  const f = get(ns, "spec", "finalizers");
  return Array.isArray(f) ? f : [];
}

export const namespaceStrategy: Strategy = {
  prepareForCreate(ns) {
    ns.status = { phase: "Active" };
  },
  finishesOnFinalize(ns) {
    // A namespace also waits for its spec.finalizers (the namespace controller's).
    return specFinalizers(ns).length === 0;
  },
  beginDeletion(ns) {
    if (specFinalizers(ns).length === 0) return false;
    ns.status = { ...((ns.status as Record<string, unknown>) ?? {}), phase: "Terminating" };
    return true;
  },
};
