// A CustomResourceDefinition's status conditions (NamesAccepted, Established, Terminating),
// set the way Kubernetes' apiextensions controllers word them.
import { setCondition } from "./objects.js";

/** What a CRD being deleted shows until its objects are gone. */
export function markTerminating(crd: Record<string, unknown>): void {
  setCondition(crd, {
    type: "Terminating",
    status: "True",
    reason: "InstanceDeletionInProgress",
    message: "CustomResource deletion is in progress",
  });
}
