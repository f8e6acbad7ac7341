// The service account controller: every namespace that is not terminating has a `default`
// ServiceAccount; it is recreated if deleted. Token signing lives in ./token.ts.
import { isAlreadyExists, isForbidden, isNotFound, metaNamespaceKey } from "@skiff/client";
import type { Lister, ResourceClient, SharedInformer, WorkQueue } from "@skiff/client";
import {
  enqueueHandler,
  newQueue,
  QueueController,
  unwrapTombstone,
  type ControllerConstructor,
  type ControllerContext,
} from "../../controller.js";
import type { Namespace, ServiceAccount } from "../../objects.js";
import { resourceInfo } from "@skiff/api/light";

export const defaultServiceAccountName = "default";

export class ServiceAccountController extends QueueController {
  readonly name = "serviceaccount";
  readonly queue: WorkQueue<string>;
  private readonly namespaces: Lister<Namespace>;
  private readonly serviceAccounts: Lister<ServiceAccount>;
  private readonly informers: SharedInformer[];
  private readonly client: ResourceClient<ServiceAccount>;

  constructor(ctx: ControllerContext) {
    super(ctx);
    this.queue = newQueue(ctx, this.name);
    const namespaces = ctx.informers.forResource<Namespace>(resourceInfo("", "v1", "namespaces"));
    const saInfo = resourceInfo("", "v1", "serviceaccounts");
    const serviceAccounts = ctx.informers.forResource<ServiceAccount>(saInfo, {
      fieldSelector: `metadata.name=${defaultServiceAccountName}`,
    });
    this.namespaces = namespaces.lister();
    this.serviceAccounts = serviceAccounts.lister();
    this.informers = [namespaces, serviceAccounts] as SharedInformer[];
    this.client = ctx.client.resource<ServiceAccount>(saInfo);

    // Keys are namespace names.
    namespaces.addEventHandler(enqueueHandler<Namespace>(this.queue));
    serviceAccounts.addEventHandler({
      delete: (sa) => this.queue.add(unwrapTombstone(sa).metadata.namespace ?? ""),
    });
  }

  protected cachesToSync() {
    return this.informers;
  }

  async sync(namespace: string): Promise<void> {
    const ns = this.namespaces.get(namespace);
    if (!ns || ns.metadata.deletionTimestamp || ns.status?.phase === "Terminating") return;
    if (this.serviceAccounts.namespace(namespace).get(defaultServiceAccountName)) return;
    const sa: ServiceAccount = {
      apiVersion: "v1",
      kind: "ServiceAccount",
      metadata: { name: defaultServiceAccountName, namespace },
    };
    try {
      await this.client.namespace(namespace).create(sa);
      this.ctx.log.info(
        { serviceAccount: metaNamespaceKey(sa) },
        "created default service account",
      );
    } catch (e) {
      // Exists already (our cache is behind), or the namespace began terminating meanwhile.
      if (isAlreadyExists(e) || isNotFound(e) || isForbidden(e)) return;
      throw e;
    }
  }
}

export const newServiceAccountController: ControllerConstructor = (ctx) =>
  new ServiceAccountController(ctx);
