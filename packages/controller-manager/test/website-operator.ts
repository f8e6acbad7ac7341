// A small operator, as a test fixture: a custom resource `Website` (sites.example.com/v1)
// that this controller turns into a Deployment and a Service, writing status back through
// the status subresource. It uses only Skiff's client library, the way an operator author
// would use client-go: informers → work queue → sync(key).
import { customResourceInfos, resourceInfo } from "@skiff/api";
import {
  isNotFound,
  metaNamespaceKey,
  SharedInformerFactory,
  WorkQueue,
  type KubeObject,
  type RestClient,
} from "@skiff/client";
import { crdFixture } from "@skiff/testing";

export const websiteCRD = crdFixture({
  group: "sites.example.com",
  plural: "websites",
  kind: "Website",
  schema: {
    type: "object",
    properties: {
      spec: {
        type: "object",
        required: ["domain"],
        properties: {
          domain: { type: "string" },
          image: { type: "string", default: "skiff.local/busybox:1.36" },
          replicas: { type: "integer", minimum: 0, default: 1 },
          port: { type: "integer", minimum: 1, maximum: 65535, default: 8080 },
        },
      },
      status: {
        type: "object",
        properties: {
          deployment: { type: "string" },
          url: { type: "string" },
          readyReplicas: { type: "integer" },
          observedGeneration: { type: "integer" },
        },
      },
    },
  },
});
// The status subresource: the operator's status writes never touch spec.
(websiteCRD.spec as { versions: { subresources?: object }[] }).versions[0]!.subresources = {
  status: {},
};

/** An object read without a typed schema: spec and status of any shape. */
export type Unstructured = KubeObject & { spec?: unknown; status?: unknown };

interface Website extends KubeObject {
  spec: { domain: string; image: string; replicas: number; port: number };
  status?: Record<string, unknown>;
}

const websites = customResourceInfos(websiteCRD)[0]!;
const deployments = resourceInfo("apps", "v1", "deployments");
const services = resourceInfo("", "v1", "services");

function ownerRef(w: Website) {
  return {
    apiVersion: "sites.example.com/v1",
    kind: "Website",
    name: w.metadata.name!,
    uid: w.metadata.uid!,
    controller: true,
    blockOwnerDeletion: true,
  };
}

/** The Deployment a Website wants (pure: easy to check without a cluster). */
export function newDeploymentForWebsite(w: Website): Unstructured {
  const labels = { app: w.metadata.name!, "sites.example.com/website": w.metadata.name! };
  return {
    apiVersion: "apps/v1",
    kind: "Deployment",
    metadata: {
      name: w.metadata.name,
      namespace: w.metadata.namespace,
      labels,
      ownerReferences: [ownerRef(w)],
    },
    spec: {
      replicas: w.spec.replicas,
      selector: { matchLabels: labels },
      template: {
        metadata: { labels },
        spec: {
          containers: [
            {
              name: "web",
              image: w.spec.image,
              command: ["httpd", "-f", "-p", String(w.spec.port)],
              ports: [{ containerPort: w.spec.port }],
            },
          ],
        },
      },
    },
  } as KubeObject;
}

export function newServiceForWebsite(w: Website): Unstructured {
  return {
    apiVersion: "v1",
    kind: "Service",
    metadata: {
      name: w.metadata.name,
      namespace: w.metadata.namespace,
      ownerReferences: [ownerRef(w)],
    },
    spec: {
      selector: { "sites.example.com/website": w.metadata.name! },
      ports: [{ port: 80, targetPort: w.spec.port }],
    },
  } as KubeObject;
}

export class WebsiteOperator {
  private readonly factory: SharedInformerFactory;
  private readonly queue = new WorkQueue<string>();
  private readonly sites;
  private readonly deps;
  private readonly svcs;
  private running: Promise<void> | undefined;

  constructor(private readonly client: RestClient) {
    this.factory = new SharedInformerFactory(client, { resyncPeriodMs: 10_000 });
    this.sites = this.factory.forResource<Website>(websites);
    this.deps = this.factory.forResource<Unstructured>(deployments);
    this.svcs = this.factory.forResource(services);
    const enqueue = (w: KubeObject) => this.queue.add(metaNamespaceKey(w));
    this.sites.addEventHandler({
      add: enqueue,
      update: (o, n) => o.metadata.resourceVersion !== n.metadata.resourceVersion && enqueue(n),
    });
    // An owned object's change wakes its Website (found through the controller reference).
    const enqueueOwner = (o: KubeObject) => {
      const ref = o.metadata.ownerReferences?.find((r) => r.controller && r.kind === "Website");
      if (ref) this.queue.add(`${o.metadata.namespace}/${ref.name}`);
    };
    for (const inf of [this.deps, this.svcs]) {
      inf.addEventHandler({
        add: enqueueOwner,
        update: (_o, n) => enqueueOwner(n),
        delete: (o) => enqueueOwner(o as KubeObject),
      });
    }
  }

  async start(): Promise<void> {
    this.factory.start();
    await this.factory.waitForCacheSync();
    this.running = (async () => {
      for (;;) {
        const { key, shutdown } = await this.queue.get();
        if (shutdown) return;
        try {
          await this.sync(key);
          this.queue.forget(key);
        } catch {
          this.queue.addRateLimited(key);
        } finally {
          this.queue.done(key);
        }
      }
    })();
  }

  async stop(): Promise<void> {
    this.queue.shutDown();
    this.factory.stop();
    await this.running;
  }

  async sync(key: string): Promise<void> {
    const cached = this.sites.lister().get(key);
    if (!cached || cached.metadata.deletionTimestamp) return;
    const w = structuredClone(cached);
    const ns = w.metadata.namespace!;
    const depClient = this.client.resource<Unstructured>(deployments).namespace(ns);
    const svcClient = this.client.resource<KubeObject>(services).namespace(ns);

    let dep = this.deps.lister().get(key);
    const want = newDeploymentForWebsite(w);
    if (!dep) dep = await depClient.create(want);
    else {
      const spec = dep.spec as {
        replicas?: number;
        template: { spec: { containers: { image: string }[] } };
      };
      if (
        spec.replicas !== w.spec.replicas ||
        spec.template.spec.containers[0]?.image !== w.spec.image
      ) {
        const next = structuredClone(dep);
        next.spec = want.spec;
        dep = await depClient.update(next);
      }
    }
    if (!this.svcs.lister().get(key)) {
      await svcClient.create(newServiceForWebsite(w)).catch((e: unknown) => {
        if (
          !isNotFound(e) &&
          (e as { status?: { reason?: string } }).status?.reason !== "AlreadyExists"
        )
          throw e;
      });
    }
    const status = {
      deployment: dep.metadata.name,
      url: `http://${w.metadata.name}.${ns}.svc`,
      readyReplicas: (dep.status as { readyReplicas?: number } | undefined)?.readyReplicas ?? 0,
      observedGeneration: w.metadata.generation,
    };
    if (JSON.stringify(w.status ?? {}) === JSON.stringify(status)) return;
    w.status = status;
    await this.client.resource<Website>(websites).namespace(ns).updateStatus(w);
  }
}
