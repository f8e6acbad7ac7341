// Turns a pod's API-side references into what a container runtime takes: environment values
// (value, valueFrom, envFrom) and host directories for its volumes (emptyDir, hostPath,
// configMap, secret, downwardAPI, projected written under the kubelet's root dir, and
// persistentVolumeClaim: the directory of the claim's bound hostPath or local volume).
import { execFile } from "node:child_process";
import { mkdir, readFile, readdir, rename, rm, writeFile } from "node:fs/promises";
import { dirname, join } from "node:path";
import { promisify } from "node:util";
import {
  resourceInfo,
  parseQuantity,
  volumeSources,
  type Container,
  type Volume,
} from "@skiff/api";
import type { ConfigMap, Pod, Secret } from "./objects.js";
import { isNotFound, type RestClient } from "@skiff/client";
import type { ObjectWatches, WatchedResource } from "./object-watches.js";
import type { Mount } from "./runtime/runtime.js";

const run = promisify(execFile);

// Service account tokens by pod uid, account, audience and lifetime.
const tokens = new Map<string, { token: string; refreshAt: number }>();

/** Drops the cached tokens of a pod that is gone. */
export function forgetTokens(podUid: string): void {
  for (const key of tokens.keys()) if (key.startsWith(`${podUid}/`)) tokens.delete(key);
}

/**
 * Reads ConfigMaps, Secrets and tokens for one sync, each at most once: ConfigMaps and Secrets
 * from their watches (object-watches.ts) when given, else from the apiserver.
 */
export class ObjectSource {
  private readonly cache = new Map<string, Promise<ConfigMap | Secret | undefined>>();
  constructor(
    private readonly client: RestClient,
    private readonly watches?: ObjectWatches,
  ) {}

  configMap(ns: string, name: string): Promise<ConfigMap | undefined> {
    return this.watched("configmaps", ns, name) as Promise<ConfigMap | undefined>;
  }
  secret(ns: string, name: string): Promise<Secret | undefined> {
    return this.watched("secrets", ns, name) as Promise<Secret | undefined>;
  }

  private watched(resource: WatchedResource, ns: string, name: string) {
    if (!this.watches) return this.read(resource, ns, name);
    return this.watches.get(resource, ns, name, () => this.read(resource, ns, name));
  }

  /**
   * A service account token bound to the pod, from TokenRequest; kept until 80% of its life
   * (at most 24 hours) has passed. Empty when the apiserver refuses (the volume is still written).
   */
  async token(pod: Pod, audience: string | undefined, expirationSeconds = 3600): Promise<string> {
    const m = pod.metadata;
    const sa = pod.spec?.serviceAccountName || "default";
    const key = `${m.uid ?? ""}/${sa}/${audience ?? ""}/${expirationSeconds}`;
    const cached = tokens.get(key);
    if (cached && Date.now() < cached.refreshAt) return cached.token;
    try {
      const res = await this.client.request(
        "POST",
        `/api/v1/namespaces/${m.namespace ?? "default"}/serviceaccounts/${sa}/token`,
        {
          body: {
            apiVersion: "authentication.k8s.io/v1",
            kind: "TokenRequest",
            spec: {
              audiences: audience ? [audience] : [],
              expirationSeconds,
              boundObjectRef: { apiVersion: "v1", kind: "Pod", name: m.name, uid: m.uid },
            },
          },
        },
      );
      const status = (res as { status?: { token?: unknown } } | undefined)?.status;
      const token = typeof status?.token === "string" ? status.token : "";
      // As Kubernetes' token manager: renewed at 80% of its life, and at least daily.
      const refreshIn = Math.min(expirationSeconds * 800, 24 * 3600 * 1000);
      tokens.set(key, { token, refreshAt: Date.now() + refreshIn });
      return token;
    } catch {
      return cached?.token ?? "";
    }
  }

  /**
   * The host directory behind a claim: its bound volume's hostPath or local path. A claim
   * not bound yet (a WaitForFirstConsumer volume is being made) is a ConfigError: retried.
   */
  async claimPath(ns: string, claimName: string): Promise<string> {
    type Claim = { spec?: { volumeName?: string }; status?: { phase?: string } };
    type Volume = {
      spec?: { hostPath?: { path: string; type?: string }; local?: { path: string } };
    };
    const claim = (await this.read("persistentvolumeclaims", ns, claimName)) as Claim | undefined;
    if (!claim) throw new ConfigError(`persistentvolumeclaim "${claimName}" not found`);
    const volumeName = claim.spec?.volumeName;
    if (!volumeName || claim.status?.phase !== "Bound")
      throw new ConfigError(`persistentvolumeclaim "${claimName}" is not bound`);
    const rc = this.client.resource(resourceInfo("", "v1", "persistentvolumes"));
    const pv = (await rc.get(volumeName).catch((err: unknown) => {
      if (isNotFound(err)) return undefined;
      throw err;
    })) as Volume | undefined;
    if (!pv) throw new ConfigError(`persistentvolume "${volumeName}" not found`);
    if (pv.spec?.hostPath) {
      const { path, type } = pv.spec.hostPath;
      if (type === "DirectoryOrCreate") await mkdir(path, { recursive: true });
      return path;
    }
    if (pv.spec?.local) return pv.spec.local.path;
    throw new ConfigError(
      `persistentvolume "${volumeName}" has no volume source this node can mount`,
    );
  }

  private read(resource: string, ns: string, name: string) {
    const key = `${resource}/${ns}/${name}`;
    let p = this.cache.get(key);
    if (!p) {
      const rc = this.client.resource<ConfigMap | Secret>(resourceInfo("", "v1", resource));
      p = rc
        .namespace(ns)
        .get(name)
        .catch((err: unknown) => {
          if (isNotFound(err)) return undefined;
          throw err;
        });
      this.cache.set(key, p);
    }
    return p;
  }
}

/** An error that leaves the container waiting with this reason (CreateContainerConfigError). */
export class ConfigError extends Error {}

function secretData(s: Secret | undefined): Record<string, string> {
  const out: Record<string, string> = {};
  for (const [k, v] of Object.entries(s?.data ?? {})) out[k] = Buffer.from(v, "base64").toString();
  for (const [k, v] of Object.entries(s?.stringData ?? {})) out[k] = v;
  return out;
}

/** The value of a downward API field path (metadata.name, status.podIP, ...). */
export function fieldValue(pod: Pod, fieldPath: string, hostIP: string): string {
  const m = pod.metadata;
  const label = /^metadata\.(labels|annotations)\['(.+)'\]$/.exec(fieldPath);
  if (label) return (label[1] === "labels" ? m.labels : m.annotations)?.[label[2]!] ?? "";
  switch (fieldPath) {
    case "metadata.name":
      return m.name ?? "";
    case "metadata.namespace":
      return m.namespace ?? "";
    case "metadata.uid":
      return m.uid ?? "";
    case "metadata.labels":
      return formatMap(m.labels);
    case "metadata.annotations":
      return formatMap(m.annotations);
    case "spec.nodeName":
      return pod.spec?.nodeName ?? "";
    case "spec.serviceAccountName":
      return pod.spec?.serviceAccountName ?? "";
    case "status.hostIP":
      return hostIP;
    case "status.podIP":
      return pod.status?.podIP ?? "";
    default:
      throw new ConfigError(`unsupported fieldPath ${fieldPath}`);
  }
}

function formatMap(m: Record<string, string> | undefined): string {
  return Object.entries(m ?? {})
    .sort(([a], [b]) => a.localeCompare(b))
    .map(([k, v]) => `${k}=${JSON.stringify(v)}`)
    .join("\n");
}

function resourceValue(
  pod: Pod,
  containerName: string | undefined,
  resource: string,
  divisor: string | number | undefined,
): string {
  const c = [...(pod.spec?.containers ?? []), ...(pod.spec?.initContainers ?? [])].find(
    (x) => x.name === containerName,
  );
  const [kind, name] = resource.split(".") as [string, string];
  const list = kind === "limits" ? c?.resources?.limits : c?.resources?.requests;
  const raw = list?.[name];
  const value = raw === undefined ? 0 : parseQuantity(raw);
  const d = divisor === undefined ? 1 : parseQuantity(divisor) || 1;
  return String(Math.ceil(value / d));
}

export async function resolveEnv(
  pod: Pod,
  container: Container,
  source: ObjectSource,
  hostIP: string,
  extra: { name: string; value: string }[],
): Promise<{ name: string; value: string }[]> {
  const ns = pod.metadata.namespace ?? "default";
  const env = new Map<string, string>(extra.map((e) => [e.name, e.value]));
  for (const from of container.envFrom ?? []) {
    const prefix = from.prefix ?? "";
    if (from.configMapRef?.name) {
      const cm = await source.configMap(ns, from.configMapRef.name);
      if (!cm && !from.configMapRef.optional)
        throw new ConfigError(`configmap "${from.configMapRef.name}" not found`);
      for (const [k, v] of Object.entries(cm?.data ?? {})) env.set(prefix + k, v);
    }
    if (from.secretRef?.name) {
      const s = await source.secret(ns, from.secretRef.name);
      if (!s && !from.secretRef.optional)
        throw new ConfigError(`secret "${from.secretRef.name}" not found`);
      for (const [k, v] of Object.entries(secretData(s))) env.set(prefix + k, v);
    }
  }
  for (const e of container.env ?? []) {
    const vf = e.valueFrom;
    let value = e.value ?? "";
    if (vf?.fieldRef) value = fieldValue(pod, vf.fieldRef.fieldPath, hostIP);
    else if (vf?.resourceFieldRef) {
      const r = vf.resourceFieldRef;
      value = resourceValue(pod, r.containerName ?? container.name, r.resource, r.divisor);
    } else if (vf?.configMapKeyRef) {
      const ref = vf.configMapKeyRef;
      const v = (await source.configMap(ns, ref.name ?? ""))?.data?.[ref.key];
      if (v === undefined && !ref.optional)
        throw new ConfigError(`couldn't find key ${ref.key} in ConfigMap ${ns}/${ref.name}`);
      if (v === undefined) continue;
      value = v;
    } else if (vf?.secretKeyRef) {
      const ref = vf.secretKeyRef;
      const v = secretData(await source.secret(ns, ref.name ?? ""))[ref.key];
      if (v === undefined && !ref.optional)
        throw new ConfigError(`couldn't find key ${ref.key} in Secret ${ns}/${ref.name}`);
      if (v === undefined) continue;
      value = v;
    } else {
      // $(VAR) references to earlier variables, as Kubernetes expands them.
      value = value.replace(
        /\$\(([A-Za-z_][A-Za-z0-9_]*)\)/g,
        (all, n: string) => env.get(n) ?? all,
      );
    }
    env.set(e.name, value);
  }
  return [...env].map(([name, value]) => ({ name, value }));
}

export interface VolumeContext {
  pod: Pod;
  /** `<root>/pods/<uid>/volumes`. */
  dir: string;
  source: ObjectSource;
  hostIP: string;
}

/**
 * Makes every volume of the pod exist on disk and returns host paths by volume name. Files of
 * configMap/secret/downwardAPI volumes are written when their contents differ from what is there,
 * so contents follow updates.
 */
export async function prepareVolumes(ctx: VolumeContext): Promise<Map<string, string>> {
  const out = new Map<string, string>();
  for (const v of ctx.pod.spec?.volumes ?? []) {
    out.set(v.name, await prepareVolume(ctx, v));
  }
  return out;
}

async function prepareVolume(ctx: VolumeContext, v: Volume): Promise<string> {
  const ns = ctx.pod.metadata.namespace ?? "default";
  if (v.hostPath) {
    if (v.hostPath.type === "DirectoryOrCreate") await mkdir(v.hostPath.path, { recursive: true });
    return v.hostPath.path;
  }
  // A claim's volume is the node directory of its PersistentVolume, bind-mounted as is.
  if (v.persistentVolumeClaim) return ctx.source.claimPath(ns, v.persistentVolumeClaim.claimName);
  const path = join(ctx.dir, v.name);
  if (v.emptyDir) {
    await mkdir(path, { recursive: true });
    if (v.emptyDir.medium === "Memory") await mountTmpfs(path, v.emptyDir.sizeLimit);
    return path;
  }
  const files = new Map<string, string>();
  const add = (
    items: { key: string; path: string }[] | undefined,
    data: Record<string, string>,
  ) => {
    if (items) for (const i of items) files.set(i.path, data[i.key] ?? "");
    else for (const [k, val] of Object.entries(data)) files.set(k, val);
  };
  const addConfigMap = async (
    name: string,
    items?: { key: string; path: string }[],
    optional?: boolean,
  ) => {
    const cm = await ctx.source.configMap(ns, name);
    if (!cm && !optional) throw new ConfigError(`configmap "${name}" not found`);
    const data = { ...cm?.data };
    for (const [k, b] of Object.entries(cm?.binaryData ?? {}))
      data[k] = Buffer.from(b, "base64").toString();
    add(items, data);
  };
  const addSecret = async (
    name: string,
    items?: { key: string; path: string }[],
    optional?: boolean,
  ) => {
    const s = await ctx.source.secret(ns, name);
    if (!s && !optional) throw new ConfigError(`secret "${name}" not found`);
    add(items, secretData(s));
  };
  const addDownward = (
    items:
      | {
          path: string;
          fieldRef?: { fieldPath: string };
          resourceFieldRef?: {
            containerName?: string;
            resource: string;
            divisor?: string | number;
          };
        }[]
      | undefined,
  ) => {
    for (const i of items ?? []) {
      if (i.fieldRef) files.set(i.path, fieldValue(ctx.pod, i.fieldRef.fieldPath, ctx.hostIP));
      else if (i.resourceFieldRef) {
        const r = i.resourceFieldRef;
        files.set(i.path, resourceValue(ctx.pod, r.containerName, r.resource, r.divisor));
      }
    }
  };
  if (v.configMap)
    await addConfigMap(v.configMap.name ?? "", v.configMap.items, v.configMap.optional);
  else if (v.secret) await addSecret(v.secret.secretName ?? "", v.secret.items, v.secret.optional);
  else if (v.downwardAPI) addDownward(v.downwardAPI.items);
  else if (v.projected) {
    for (const s of v.projected.sources ?? []) {
      if (s.configMap)
        await addConfigMap(s.configMap.name ?? "", s.configMap.items, s.configMap.optional);
      if (s.secret) await addSecret(s.secret.name ?? "", s.secret.items, s.secret.optional);
      if (s.downwardAPI) addDownward(s.downwardAPI.items);
      if (s.serviceAccountToken) {
        const t = s.serviceAccountToken;
        files.set(t.path, await ctx.source.token(ctx.pod, t.audience, t.expirationSeconds));
      }
    }
  } else {
    // NFS, iSCSI, CSI, cloud disks, ephemeral claims...: accepted by the API (as in 1.31),
    // never mounted here. Said in the container's waiting reason, never replaced silently.
    const source = volumeSources.find((s) => v[s] !== undefined) ?? "unknown";
    throw new ConfigError(
      `volume "${v.name}": ${source} volumes are not supported by Skiff's kubelet`,
    );
  }
  await writeAtomically(path, files);
  return path;
}

/**
 * Writes all files into a fresh directory and swaps it in with one rename of a symlink, as
 * Kubernetes' atomic writer does, so a container never sees half an update. As there, nothing
 * is written when the files already hold exactly this (every sync of every pod comes here).
 */
async function writeAtomically(path: string, files: Map<string, string>): Promise<void> {
  if (await holds(join(path, "..data"), files)) return;
  await mkdir(path, { recursive: true });
  const stamp = `..data_${Date.now()}_${Math.random().toString(16).slice(2, 8)}`;
  const dataDir = join(path, stamp);
  for (const [rel, content] of files) {
    const file = join(dataDir, rel);
    await mkdir(dirname(file), { recursive: true });
    await writeFile(file, content, { mode: 0o644 });
  }
  await mkdir(dataDir, { recursive: true });
  const { symlink } = await import("node:fs/promises");
  const tmpLink = join(path, "..data_tmp");
  await rm(tmpLink, { force: true });
  await symlink(stamp, tmpLink);
  await rename(tmpLink, join(path, "..data"));
  for (const rel of files.keys()) {
    const top = rel.split("/")[0]!;
    const link = join(path, top);
    await rm(link, { force: true, recursive: false }).catch(() => undefined);
    await symlink(join("..data", top), link).catch(() => undefined);
  }
  // Old generations go once the new one is visible.
  for (const name of await readdir(path)) {
    if (name.startsWith("..data_") && name !== stamp) {
      await rm(join(path, name), { recursive: true, force: true });
    }
  }
}

/** Whether a directory holds exactly these files with these contents (false if it is missing). */
async function holds(dir: string, files: Map<string, string>): Promise<boolean> {
  const entries = await readdir(dir, { recursive: true, withFileTypes: true }).catch(() => null);
  if (!entries) return false;
  const written = entries.filter((e) => e.isFile());
  if (written.length !== files.size) return false;
  for (const [rel, content] of files) {
    const now = await readFile(join(dir, rel), "utf8").catch(() => null);
    if (now !== content) return false;
  }
  return true;
}

/** The host's mount points, from /proc/mounts. */
async function mountPoints(): Promise<string[]> {
  const text = await readFile("/proc/mounts", "utf8").catch(() => "");
  return text.split("\n").flatMap((l) => l.split(" ")[1] ?? []);
}

async function mountTmpfs(path: string, sizeLimit: string | number | undefined): Promise<void> {
  if ((await mountPoints()).includes(path)) return;
  const size =
    sizeLimit === undefined ? [] : ["-o", `size=${Math.floor(parseQuantity(sizeLimit))}`];
  await run("mount", ["-t", "tmpfs", ...size, "tmpfs", path]);
}

/** Unmounts tmpfs volumes and removes the pod's directory. */
export async function cleanupPodDir(dir: string): Promise<void> {
  for (const mountPoint of await mountPoints()) {
    if (mountPoint.startsWith(`${dir}/`)) await run("umount", [mountPoint]).catch(() => undefined);
  }
  await rm(dir, { recursive: true, force: true });
}

/** The bind mounts of one container from its volumeMounts. */
export function mountsFor(container: Container, volumes: Map<string, string>): Mount[] {
  const out: Mount[] = [];
  const device = container.volumeDevices?.[0];
  if (device)
    throw new ConfigError(
      `volumeDevices: volume "${device.name}": raw block devices are not supported by Skiff's kubelet`,
    );
  for (const m of container.volumeMounts ?? []) {
    const hostPath = volumes.get(m.name);
    if (hostPath === undefined) throw new ConfigError(`volume "${m.name}" not found`);
    out.push({
      hostPath: m.subPath ? join(hostPath, m.subPath) : hostPath,
      containerPath: m.mountPath,
      readOnly: m.readOnly === true,
    });
  }
  return out;
}
