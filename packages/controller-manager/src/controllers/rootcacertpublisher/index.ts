// The root CA publisher (kube-controller-manager's root-ca-cert-publisher): every namespace
// that is not terminating has a `kube-root-ca.crt` ConfigMap whose `ca.crt` is the cluster's
// CA (--root-ca-file), which pods' service account volumes mount. It is recreated when
// deleted and put back when changed.
import { isAlreadyExists, isForbidden, isNotFound } from "@skiff/client";
import type { Lister, ResourceClient, SharedInformer, WorkQueue } from "@skiff/client";
import {
  enqueueHandler,
  newQueue,
  QueueController,
  type ControllerConstructor,
  type ControllerContext,
} from "../../controller.js";
import type { ConfigMap, Namespace } from "../../objects.js";
import { resourceInfo } from "@skiff/api/light";
import { ConfigError } from "../../errors.js";

export const ROOT_CA_CONFIGMAP = "kube-root-ca.crt";
const DESCRIPTION_ANNOTATION = "kubernetes.io/description";
const DESCRIPTION =
  "Contains a CA bundle that can be used to verify the kube-apiserver when using internal endpoints such as the internal service IP or kubernetes.default.svc. No other usage is guaranteed across distributions of Kubernetes clusters.";

/** The ConfigMap as it must be in a namespace (pure: tests build it without a cluster). */
export function rootCAConfigMap(namespace: string, ca: string): ConfigMap {
  return {
    apiVersion: "v1",
    kind: "ConfigMap",
    metadata: {
      name: ROOT_CA_CONFIGMAP,
      namespace,
      annotations: { [DESCRIPTION_ANNOTATION]: DESCRIPTION },
    },
    data: { "ca.crt": ca },
  };
}

/** Whether a ConfigMap has drifted from what the publisher writes. */
function drifted(cm: ConfigMap, ca: string): boolean {
  const data = cm.data ?? {};
  return (
    Object.keys(data).length !== 1 ||
    data["ca.crt"] !== ca ||
    cm.metadata.annotations?.[DESCRIPTION_ANNOTATION] !== DESCRIPTION
  );
}

export class RootCACertPublisher extends QueueController {
  readonly name = "root-ca-cert-publisher";
  readonly queue: WorkQueue<string>;
  private readonly namespaces: Lister<Namespace>;
  private readonly configMaps: Lister<ConfigMap>;
  private readonly informers: SharedInformer[];
  private readonly client: ResourceClient<ConfigMap>;

  constructor(
    ctx: ControllerContext,
    private readonly ca: string,
  ) {
    super(ctx);
    this.queue = newQueue(ctx, this.name);
    const namespaces = ctx.informers.forResource<Namespace>(resourceInfo("", "v1", "namespaces"));
    const cmInfo = resourceInfo("", "v1", "configmaps");
    const configMaps = ctx.informers.forResource<ConfigMap>(cmInfo, {
      fieldSelector: `metadata.name=${ROOT_CA_CONFIGMAP}`,
    });
    this.namespaces = namespaces.lister();
    this.configMaps = configMaps.lister();
    this.informers = [namespaces, configMaps] as SharedInformer[];
    this.client = ctx.client.resource<ConfigMap>(cmInfo);

    // Keys are namespace names.
    namespaces.addEventHandler(enqueueHandler<Namespace>(this.queue));
    configMaps.addEventHandler(
      enqueueHandler<ConfigMap>(this.queue, (cm) => [cm.metadata.namespace]),
    );
  }

  protected cachesToSync() {
    return this.informers;
  }

  async sync(namespace: string): Promise<void> {
    const ns = this.namespaces.get(namespace);
    if (!ns || ns.metadata.deletionTimestamp || ns.status?.phase === "Terminating") return;
    const current = this.configMaps.namespace(namespace).get(ROOT_CA_CONFIGMAP);
    const desired = rootCAConfigMap(namespace, this.ca);
    try {
      if (!current) {
        await this.client.namespace(namespace).create(desired);
        this.ctx.log.info({ namespace }, "published kube-root-ca.crt");
      } else if (drifted(current, this.ca)) {
        const next = structuredClone(current);
        next.data = desired.data;
        next.metadata.annotations = {
          ...(next.metadata.annotations ?? {}),
          ...desired.metadata.annotations,
        };
        await this.client.namespace(namespace).update(next);
        this.ctx.log.info({ namespace }, "restored kube-root-ca.crt");
      }
    } catch (e) {
      // Our cache is behind (a conflict is retried by the queue), or the namespace began
      // terminating meanwhile.
      if (isAlreadyExists(e) || isNotFound(e) || isForbidden(e)) return;
      throw e;
    }
  }
}

/** The controller for a CA (PEM); without one there is nothing to publish. */
export const newRootCACertPublisher =
  (ca: string | undefined): ControllerConstructor =>
  (ctx) => {
    if (!ca)
      throw new ConfigError("root-ca-cert-publisher: no CA (--root-ca-file, or the kubeconfig's)");
    return new RootCACertPublisher(ctx, ca);
  };
