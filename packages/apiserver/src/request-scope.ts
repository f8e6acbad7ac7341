// What code deep inside a request needs to know about the request without being handed it:
// who is writing (the registries' write admission: escalation prevention, NodeRestriction)
// and the request's audit record (admission policies' annotations, a created object's name).
// One AsyncLocalStorage carries both: under Node 20 every promise made while a store is in
// use runs a hook per store, and a request makes many promises.
import { AsyncLocalStorage } from "node:async_hooks";
import type { AuditRecord } from "./audit.js";
import type { UserInfo } from "./auth.js";

export interface RequestScope {
  /** The author of the writes the request makes. */
  user?: UserInfo;
  /** Its audit record, when the audit policy logs it. */
  audit?: AuditRecord;
}

const scope = new AsyncLocalStorage<RequestScope>();

/** Runs fn inside the request's scope (none is entered when there is nothing to carry). */
export function inRequestScope<T>(s: RequestScope, fn: () => T): T {
  return s.user || s.audit ? scope.run(s, fn) : fn();
}

/** The scope of the request being served, if any. */
export function currentRequest(): RequestScope | undefined {
  return scope.getStore();
}
