// The objects every cluster has, created at start when missing (Kubernetes' bootstrap
// controller and its bootstrap data): the system namespaces, the system PriorityClasses, the
// flow-control bootstrap objects and the `kubernetes` Service in `default`.
import { networkInterfaces } from "node:os";
import type { Logger } from "pino";
import { ensureSystemPriorityClasses } from "../admission.js";
import { ApiError, NotFoundError } from "../errors.js";
import { ensureFlowControlBootstrap } from "../flowcontrol.js";
import type { Registry } from "../registry.js";
import type { ApiServerOptions } from "./options.js";

const FLOWCONTROL = "flowcontrol.apiserver.k8s.io";

const SYSTEM_NAMESPACES = ["default", "kube-system", "kube-public", "kube-node-lease"];

type RegistryOf = (resource: string, group?: string) => Registry;

/** A create that tolerates another apiserver having created the object first. */
function ignoreAlreadyExists(e: unknown): void {
  if (!(e instanceof ApiError && e.reason === "AlreadyExists")) throw e;
}

/**
 * Creates the system namespaces, PriorityClasses and flow-control objects that are missing;
 * etcd may still be coming up, so it tries for about 30 seconds.
 */
export async function ensureSystemObjects(registry: RegistryOf, log: Logger): Promise<void> {
  const namespaces = registry("namespaces");
  for (let attempt = 0; ; attempt++) {
    try {
      for (const name of SYSTEM_NAMESPACES) {
        try {
          await namespaces.get(undefined, name);
        } catch (err) {
          if (!(err instanceof NotFoundError)) throw err;
          await namespaces
            .create(undefined, { apiVersion: "v1", kind: "Namespace", metadata: { name } })
            .catch(ignoreAlreadyExists);
        }
      }
      await ensureSystemPriorityClasses(registry("priorityclasses", "scheduling.k8s.io"));
      await ensureFlowControlBootstrap(
        registry("prioritylevelconfigurations", FLOWCONTROL),
        registry("flowschemas", FLOWCONTROL),
      );
      return;
    } catch (err) {
      if (attempt >= 30) throw err;
      log.warn({ err: (err as Error).message }, "waiting for etcd");
      await new Promise((r) => setTimeout(r, 1000));
    }
  }
}

/** The address clients inside the cluster reach this apiserver at. */
export function advertiseAddress(
  opts: Pick<ApiServerOptions, "advertiseAddress" | "bindAddress">,
): string {
  if (opts.advertiseAddress) return opts.advertiseAddress;
  if (opts.bindAddress && opts.bindAddress !== "0.0.0.0") return opts.bindAddress;
  for (const addrs of Object.values(networkInterfaces())) {
    for (const a of addrs ?? []) if (a.family === "IPv4" && !a.internal) return a.address;
  }
  return "127.0.0.1";
}

/**
 * The `kubernetes` Service in `default` at the first address of the service range; its
 * Endpoints and EndpointSlice (every running apiserver) are master-leases.ts's.
 */
export async function ensureKubernetesService(
  services: Registry,
  clusterIP: string,
  port: number,
): Promise<void> {
  try {
    await services.get("default", "kubernetes");
  } catch (err) {
    if (!(err instanceof NotFoundError)) throw err;
    await services
      .create("default", {
        apiVersion: "v1",
        kind: "Service",
        metadata: {
          name: "kubernetes",
          labels: { component: "apiserver", provider: "kubernetes" },
        },
        spec: {
          clusterIP,
          ports: [{ name: "https", port: 443, protocol: "TCP", targetPort: port }],
          sessionAffinity: "None",
          type: "ClusterIP",
        },
      })
      .catch(ignoreAlreadyExists);
  }
}
