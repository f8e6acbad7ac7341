// A CustomResourceDefinition's status conditions (NamesAccepted, Established, Terminating),
// set the way Kubernetes' apiextensions controllers word them.
import type { CustomResourceDefinitionCondition as Condition } from "@skiff/api";
import { isObject, now } from "./objects.js";

type Obj = Record<string, unknown>;

/** Sets a condition on obj.status.conditions; the transition time changes only with status. */
export function setCondition(obj: Obj, c: Condition): void {
  const status: Obj = isObject(obj.status) ? obj.status : {};
  obj.status = status;
  const list = Array.isArray(status.conditions) ? (status.conditions as Condition[]) : [];
  const old = list.find((x) => x.type === c.type);
  const next = {
    ...c,
    lastTransitionTime:
      old && old.status === c.status && old.lastTransitionTime ? old.lastTransitionTime : now(),
  };
  status.conditions = old ? list.map((x) => (x.type === c.type ? next : x)) : [...list, next];
}

/** What a CRD being deleted shows until its objects are gone. */
export function markTerminating(crd: Obj): void {
  setCondition(crd, {
    type: "Terminating",
    status: "True",
    reason: "InstanceDeletionInProgress",
    message: "CustomResource deletion is in progress",
  });
}
