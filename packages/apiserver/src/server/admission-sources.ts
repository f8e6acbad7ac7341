// Where admission reads the cluster from: the watch caches. The admission webhooks and
// ValidatingAdmissionPolicies find their configurations, namespaces, services and params
// there, and NamespaceLifecycle (no new objects in a namespace that is missing or being
// terminated) reads the namespace there.
import type { Logger } from "pino";
import { apiVersionOf, findResourceByKind, type ResourceInfo } from "@skiff/api";
import { addAuditAnnotations } from "../audit.js";
import { ForbiddenError, NotFoundError } from "../errors.js";
import type { ApiserverMetrics } from "../metrics.js";
import { meta, type KubeObject } from "../objects.js";
import { PolicyAdmission } from "../policy/admission.js";
import type { Registry } from "../registry.js";
import { WebhookAdmission } from "../webhooks/dispatch.js";
import { serviceTarget } from "../webhooks/service.js";

export interface AdmissionSourceParts {
  /** A built-in resource's registry. */
  registry(resource: string, group?: string): Registry;
  /** The registry of any served resource (custom ones too); throws when it went away. */
  servedRegistry(info: ResourceInfo): Registry;
  /** The custom resources served now. */
  customResources(): ResourceInfo[];
  log: Logger;
  metrics: ApiserverMetrics;
}

/** Admission webhooks and policies, configured by the configurations in the watch cache. */
export function webhookAdmission(parts: AdmissionSourceParts): WebhookAdmission {
  const group = "admissionregistration.k8s.io";
  const cached = async (resource: string) =>
    (await parts.registry(resource, group).cache.list()).items;
  const orUndefined = async (p: Promise<KubeObject>) => {
    try {
      return await p;
    } catch (err) {
      if (err instanceof NotFoundError) return undefined;
      throw err;
    }
  };
  const policies = new PolicyAdmission({
    policies: () => cached("validatingadmissionpolicies"),
    bindings: () => cached("validatingadmissionpolicybindings"),
    namespace: (ns) => orUndefined(parts.registry("namespaces").getCached(undefined, ns)),
    paramResource: (apiVersion, kind) => {
      const builtIn = findResourceByKind(apiVersion, kind);
      if (builtIn) return builtIn;
      return parts.customResources().find((r) => apiVersionOf(r) === apiVersion && r.kind === kind);
    },
    listParams: async (info, namespace) => {
      const items = (await parts.servedRegistry(info).cache.list()).items;
      return namespace ? items.filter((o) => meta(o).namespace === namespace) : items;
    },
    annotate: (annotations) => addAuditAnnotations(annotations),
    log: (msg, detail) => parts.log.warn(detail, msg),
  });
  return new WebhookAdmission({
    validatingPolicies: (a, object, oldObject) => policies.validate(a, object, oldObject),
    mutatingConfigurations: () => cached("mutatingwebhookconfigurations"),
    validatingConfigurations: () => cached("validatingwebhookconfigurations"),
    namespaceLabels: async (ns) => {
      const obj = await orUndefined(parts.registry("namespaces").getCached(undefined, ns));
      return obj ? (meta(obj).labels ?? {}) : undefined;
    },
    resolveService: async (namespace, name, port) =>
      serviceTarget(
        await orUndefined(parts.registry("services").getCached(namespace, name)),
        await orUndefined(parts.registry("endpoints").getCached(namespace, name)),
        namespace,
        name,
        port,
      ),
    log: (msg, detail) => parts.log.warn(detail, msg),
    observe: ({ name, type, operation, rejected, seconds }) =>
      parts.metrics.webhookLatency.observe(
        { name, type, operation, rejected: String(rejected) },
        seconds,
      ),
  });
}

/** NamespaceLifecycle for namespaced creates: the namespace must exist and not be terminating. */
export async function namespaceAdmits(namespaces: Registry, ns: string): Promise<void> {
  let obj;
  try {
    obj = await namespaces.getCached(undefined, ns);
  } catch (err) {
    if (err instanceof NotFoundError)
      throw new NotFoundError({ kind: "namespaces", group: "", name: ns });
    throw err;
  }
  if (
    meta(obj).deletionTimestamp ||
    (obj.status as Record<string, unknown> | undefined)?.phase === "Terminating"
  ) {
    throw new ForbiddenError(
      `unable to create new content in namespace ${ns} because it is being terminated`,
      {
        name: ns,
        kind: "namespaces",
        causes: [
          {
            type: "NamespaceTerminating",
            message: `namespace ${ns} is being terminated`,
            field: "metadata.namespace",
          },
        ],
      },
    );
  }
}
