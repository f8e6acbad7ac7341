// Serving CustomResourceDefinitions: the apiserver watches CRDs and, for each one whose
// names are free, serves a resource per served version at once (REST, discovery, OpenAPI),
// then records NamesAccepted and Established in the CRD's status. A CRD being deleted has
// its objects deleted first (Terminating), then loses its cleanup finalizer and goes.
//
// Contract: resolve()/all() answer from memory and change only when a CRD event arrives;
// every apiserver runs its own copy, and the status writes are idempotent.
import {
  apiVersionOf,
  CRD_CLEANUP_FINALIZER,
  customResourceDocuments,
  customResourceInfos,
  findResource,
  resources,
  type ResourceInfo,
} from "@skiff/api";
import type { Registry } from "./registry.js";
import type { Watcher } from "./watchcache.js";
import { NotFoundError } from "./errors.js";
import { meta, setCondition, type KubeObject } from "./objects.js";

interface Served {
  infos: ResourceInfo[];
  registries: Registry[];
  /** The spec the registries were built from: a change rebuilds them. */
  spec: string;
  terminating: boolean;
}

export interface CustomResourcesDeps {
  /** The registry of customresourcedefinitions. */
  crds: Registry;
  /** Builds (does not start) a registry for a resource. */
  newRegistry: (info: ResourceInfo) => Registry;
  /** The server's registry map, which the handlers read: served versions are added and removed here. */
  registries: Map<ResourceInfo, Registry>;
  log: (msg: string, detail?: object) => void;
}

export class CustomResources {
  private readonly served = new Map<string, Served>();
  /** One chain of work per CRD name, so that events for one CRD are handled in order. */
  private readonly chains = new Map<string, Promise<void>>();
  private readonly retries = new Map<string, NodeJS.Timeout>();
  private unwatch: (() => void) | undefined;
  private openapi: ReturnType<typeof customResourceDocuments> | undefined;
  private stopped = false;

  constructor(private readonly deps: CustomResourcesDeps) {}

  /** Starts watching CRDs; resolves once the existing ones are served. */
  async start(): Promise<void> {
    const existing = (await this.deps.crds.cache.list()).items;
    await Promise.all(existing.map((crd) => this.enqueue(crd)));
    const watcher: Watcher = {
      send: (type, object) => {
        if (type === "DELETED")
          void this.chain(meta(object).name!, () => this.unserve(meta(object).name!));
        else void this.enqueue(object);
      },
      bookmark: () => {},
      terminate: () => {
        // The CRD watch cache lost etcd: watch again once it is back.
        this.unwatch = undefined;
        if (!this.stopped) setTimeout(() => void this.rewatch(), 1000);
      },
    };
    const revision = this.deps.crds.cache.currentRevision();
    this.unwatch = await this.deps.crds.cache.watch(watcher, {
      fromRevision: revision,
      filter: () => true,
    });
  }

  private async rewatch(): Promise<void> {
    try {
      await this.start();
    } catch {
      if (!this.stopped) setTimeout(() => void this.rewatch(), 1000);
    }
  }

  stop(): void {
    this.stopped = true;
    this.unwatch?.();
    for (const t of this.retries.values()) clearTimeout(t);
  }

  /** A served custom resource by group, version and plural, or a built-in one. */
  resolve(group: string, version: string, resource: string): ResourceInfo | undefined {
    const builtIn = findResource(group, version, resource);
    if (builtIn) return builtIn;
    for (const s of this.served.values()) {
      const info = s.infos.find(
        (i) => i.group === group && i.version === version && i.resource === resource,
      );
      if (info) return info;
    }
    return undefined;
  }

  /** Built-in resources followed by the served custom ones (preferred version first). */
  all(): ResourceInfo[] {
    const out = [...resources];
    for (const s of [...this.served.values()].sort((a, b) =>
      a.infos[0]!.group < b.infos[0]!.group ? -1 : 1,
    ))
      out.push(...s.infos);
    return out;
  }

  /** The OpenAPI v3 documents of the custom resources' group/versions ("apis/example.com/v1"). */
  openapiDocuments(): ReturnType<typeof customResourceDocuments> {
    this.openapi ??= customResourceDocuments(this.all().filter((i) => i.custom));
    return this.openapi;
  }

  /** Whether the CRD behind a custom resource is being deleted (creates are refused then). */
  terminating(info: ResourceInfo): boolean {
    return info.custom ? (this.served.get(info.custom.crdName)?.terminating ?? false) : false;
  }

  private enqueue(crd: KubeObject): Promise<void> {
    const name = meta(crd).name!;
    return this.chain(name, () => this.sync(name));
  }

  private chain(name: string, work: () => Promise<void>): Promise<void> {
    const next = (this.chains.get(name) ?? Promise.resolve()).then(work).catch((err: unknown) => {
      this.deps.log("CRD sync failed", { crd: name, err: (err as Error).message });
      this.retryLater(name, 1000);
    });
    this.chains.set(name, next);
    void next.then(() => {
      if (this.chains.get(name) === next) this.chains.delete(name);
    });
    return next;
  }

  private retryLater(name: string, ms: number): void {
    if (this.stopped || this.retries.has(name)) return;
    this.retries.set(
      name,
      setTimeout(() => {
        this.retries.delete(name);
        void this.chain(name, () => this.sync(name));
      }, ms),
    );
  }

  /** Brings serving and status in line with the CRD as stored now. */
  private async sync(name: string): Promise<void> {
    let crd: KubeObject;
    try {
      crd = await this.deps.crds.get(undefined, name);
    } catch (err) {
      if (err instanceof NotFoundError) return this.unserve(name);
      throw err;
    }
    const conflict = this.nameConflict(crd);
    if (conflict && !this.served.has(name)) {
      await this.writeStatus(name, (c) => {
        setCondition(c, { type: "NamesAccepted", status: "False", ...conflict });
        setCondition(c, {
          type: "Established",
          status: "False",
          reason: "NotAccepted",
          message: "not all names are accepted",
        });
      });
      return;
    }
    const terminating = Boolean(meta(crd).deletionTimestamp);
    await this.serve(crd, terminating);
    if (terminating) return this.cleanUp(name);
    const spec = (crd.spec ?? {}) as Record<string, unknown>;
    const storage = customResourceInfos(crd)[0]?.custom?.storageVersion;
    await this.writeStatus(name, (c) => {
      const status = (c.status ?? {}) as Record<string, unknown>;
      c.status = status;
      status.acceptedNames = structuredClone(spec.names);
      const stored = Array.isArray(status.storedVersions)
        ? (status.storedVersions as string[])
        : [];
      if (storage && !stored.includes(storage)) status.storedVersions = [...stored, storage];
      setCondition(c, {
        type: "NamesAccepted",
        status: "True",
        reason: "NoConflicts",
        message: "no conflicts found",
      });
      setCondition(c, {
        type: "Established",
        status: "True",
        reason: "InitialNamesAccepted",
        message: "the initial names have been accepted",
      });
    });
  }

  /** The NamesAccepted reason and message when another resource of the group has a name. */
  private nameConflict(crd: KubeObject): { reason: string; message: string } | undefined {
    const spec = (crd.spec ?? {}) as {
      group?: string;
      names?: {
        plural?: string;
        singular?: string;
        kind?: string;
        listKind?: string;
        shortNames?: string[];
      };
    };
    const names = spec.names ?? {};
    const others = this.all().filter(
      (i) => i.group === spec.group && i.custom?.crdName !== meta(crd).name,
    );
    const used = (pick: (i: ResourceInfo) => string[]) => new Set(others.flatMap(pick));
    const inUse = (n: string) => `${JSON.stringify(n)} is already in use`;
    if (names.plural && used((i) => [i.resource, i.singular]).has(names.plural))
      return { reason: "PluralConflict", message: inUse(names.plural) };
    if (names.singular && used((i) => [i.resource, i.singular]).has(names.singular))
      return { reason: "SingularConflict", message: inUse(names.singular) };
    const short = (names.shortNames ?? []).find((s) =>
      used((i) => [i.resource, i.singular, ...i.shortNames]).has(s),
    );
    if (short) return { reason: "ShortNamesConflict", message: inUse(short) };
    if (names.kind && used((i) => [i.kind, i.listKind]).has(names.kind))
      return { reason: "KindConflict", message: inUse(names.kind) };
    if (names.listKind && used((i) => [i.kind, i.listKind]).has(names.listKind))
      return { reason: "ListKindConflict", message: inUse(names.listKind) };
    return undefined;
  }

  private async serve(crd: KubeObject, terminating: boolean): Promise<void> {
    const name = meta(crd).name!;
    const spec = JSON.stringify(crd.spec) + meta(crd).uid;
    const current = this.served.get(name);
    if (current && current.spec === spec) {
      current.terminating = terminating;
      return;
    }
    const infos = customResourceInfos(crd);
    const registries = infos.map((info) => this.deps.newRegistry(info));
    await Promise.all(registries.map((r) => r.cache.start()));
    if (current) await this.unserve(name);
    for (const r of registries) this.deps.registries.set(r.info, r);
    this.openapi = undefined;
    this.served.set(name, { infos, registries, spec, terminating });
    this.deps.log("serving custom resource", {
      crd: name,
      versions: infos.map((i) => apiVersionOf(i)),
    });
  }

  private async unserve(name: string): Promise<void> {
    const s = this.served.get(name);
    if (!s) return;
    this.served.delete(name);
    this.openapi = undefined;
    for (const r of s.registries) {
      this.deps.registries.delete(r.info);
      await r.cache.stop();
    }
    this.deps.log("stopped serving custom resource", { crd: name });
  }

  /** Deletes the CRD's objects; once none is left, lets the CRD go. */
  private async cleanUp(name: string): Promise<void> {
    const s = this.served.get(name);
    const reg = s?.registries[0];
    if (reg) {
      const { items } = await reg.list(undefined, {});
      for (const obj of items) {
        const m = meta(obj);
        if (m.deletionTimestamp) continue;
        await reg.delete(m.namespace, m.name!, { propagationPolicy: "Background" }).catch((err) => {
          if (!(err instanceof NotFoundError)) throw err;
        });
      }
      const left = (await reg.list(undefined, {})).items.length;
      if (left > 0) {
        await this.writeStatus(name, (c) => {
          setCondition(c, {
            type: "Terminating",
            status: "True",
            reason: "InstanceDeletionInProgress",
            message: `could not confirm zero CustomResources remaining: ${left} remaining`,
          });
        });
        this.retryLater(name, 1000);
        return;
      }
    }
    await this.deps.crds
      .update(undefined, name, (cur) => {
        const m = meta(cur);
        m.finalizers = (m.finalizers ?? []).filter((f) => f !== CRD_CLEANUP_FINALIZER);
        if (m.finalizers.length === 0) delete m.finalizers;
        return cur;
      })
      .catch((err: unknown) => {
        if (!(err instanceof NotFoundError)) throw err;
      });
  }

  /** Writes the CRD's status through the status subresource when `change` alters it. */
  private async writeStatus(name: string, change: (crd: KubeObject) => void): Promise<void> {
    await this.deps.crds
      .update(
        undefined,
        name,
        (cur) => {
          const next = structuredClone(cur);
          change(next);
          return next;
        },
        { subresource: "status", skipUnchanged: true },
      )
      .catch((err: unknown) => {
        if (!(err instanceof NotFoundError)) throw err;
      });
  }
}
