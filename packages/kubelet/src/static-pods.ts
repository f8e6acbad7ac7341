// Static pods: pod manifests in `--pod-manifest-path` that the kubelet runs by itself, shown in
// the API as mirror pods (annotation kubernetes.io/config.mirror) that only report status.
import { createHash } from "node:crypto";
import { readdir, readFile } from "node:fs/promises";
import { join } from "node:path";
import { parse } from "yaml";
import { resourceInfo } from "@skiff/api";
import { isNotFound, type Logger, type ResourceClient, type RestClient } from "@skiff/client";
import type { Node, Pod } from "./objects.js";

export const MIRROR_ANNOTATION = "kubernetes.io/config.mirror";
export const HASH_ANNOTATION = "kubernetes.io/config.hash";
export const SOURCE_ANNOTATION = "kubernetes.io/config.source";

/** Reads every *.yaml, *.yml and *.json manifest; a file that does not parse is skipped. */
export async function readStaticPods(dir: string, nodeName: string): Promise<Pod[]> {
  let names: string[];
  try {
    names = (await readdir(dir)).filter((n) => /\.(ya?ml|json)$/.test(n)).sort();
  } catch {
    return [];
  }
  const pods: Pod[] = [];
  for (const file of names) {
    let obj: unknown;
    try {
      obj = parse(await readFile(join(dir, file), "utf8"));
    } catch {
      continue;
    }
    const pod = obj as Pod;
    if (pod?.kind !== "Pod" || !pod.metadata?.name || !pod.spec?.containers) continue;
    // The UID is the manifest's hash: the same file gives the same pod after a restart.
    const hash = createHash("sha256")
      .update(JSON.stringify(obj) + nodeName)
      .digest("hex")
      .slice(0, 32);
    pods.push({
      ...pod,
      apiVersion: "v1",
      metadata: {
        ...pod.metadata,
        name: `${pod.metadata.name}-${nodeName}`,
        namespace: pod.metadata.namespace ?? "default",
        uid: hash,
        annotations: {
          ...pod.metadata.annotations,
          [HASH_ANNOTATION]: hash,
          [SOURCE_ANNOTATION]: "file",
        },
      },
      spec: {
        restartPolicy: "Always",
        dnsPolicy: "ClusterFirst",
        terminationGracePeriodSeconds: 30,
        ...pod.spec,
        nodeName,
      },
    } as Pod);
  }
  return pods;
}

/** The mirror pod to create in the API for a static pod. */
export function mirrorPod(pod: Pod, node: { name: string; uid: string }): Pod {
  const m = pod.metadata;
  return {
    apiVersion: "v1",
    kind: "Pod",
    metadata: {
      name: m.name,
      namespace: m.namespace,
      labels: m.labels,
      annotations: { ...m.annotations, [MIRROR_ANNOTATION]: m.uid ?? "" },
      ownerReferences: [{ apiVersion: "v1", kind: "Node", name: node.name, uid: node.uid }],
    },
    spec: pod.spec,
  } as Pod;
}

export interface StaticPodsOptions {
  /** The manifests' directory (--pod-manifest-path). */
  dir: string;
  nodeName: string;
  client: RestClient;
  log: Logger;
}

/**
 * The static pods of one manifest directory: `sync` reads the manifests, adds their pods to
 * the pods the kubelet runs, keeps a mirror pod in the API for each, and drops (with their
 * mirrors) the pods whose manifest went away.
 */
export class StaticPods {
  private readonly uids = new Set<string>();
  private readonly podClient: ResourceClient<Pod>;
  private readonly nodes: ResourceClient<Node>;

  constructor(private readonly opts: StaticPodsOptions) {
    this.podClient = opts.client.resource<Pod>(resourceInfo("", "v1", "pods"));
    this.nodes = opts.client.resource<Node>(resourceInfo("", "v1", "nodes"));
  }

  /**
   * Updates `pods` (by UID) from the manifests; `onNewMirror` hears of each mirror created
   * (a new mirror has no status yet).
   */
  async sync(pods: Map<string, Pod>, onNewMirror: (uid: string) => void): Promise<void> {
    const { nodeName, log } = this.opts;
    const seen = new Set<string>();
    for (const pod of await readStaticPods(this.opts.dir, nodeName)) {
      const uid = pod.metadata.uid ?? "";
      seen.add(uid);
      this.uids.add(uid);
      if (!pods.has(uid)) pods.set(uid, pod);
      const ns = this.podClient.namespace(pod.metadata.namespace ?? "default");
      try {
        const mirror = await ns.get(pod.metadata.name ?? "").catch((err: unknown) => {
          if (isNotFound(err)) return undefined;
          throw err;
        });
        // A mirror of another manifest, or one being deleted (nothing else would finish a
        // graceful delete of it), is replaced: the manifest, not the API, says what runs.
        const stale =
          mirror !== undefined &&
          (mirror.metadata.annotations?.[MIRROR_ANNOTATION] !== uid ||
            mirror.metadata.deletionTimestamp !== undefined);
        if (stale) await ns.delete(mirror.metadata.name ?? "", { gracePeriodSeconds: 0 });
        if (!mirror || stale) {
          const node = await this.nodes.get(nodeName);
          await ns.create(mirrorPod(pod, { name: nodeName, uid: node.metadata.uid ?? "" }));
          onNewMirror(uid);
        }
      } catch (err) {
        log.warn(
          { err, pod: `${pod.metadata.namespace}/${pod.metadata.name}` },
          "cannot keep the mirror pod",
        );
      }
    }
    for (const uid of [...this.uids]) {
      if (seen.has(uid)) continue;
      const pod = pods.get(uid);
      this.uids.delete(uid);
      pods.delete(uid);
      if (pod) {
        await this.podClient
          .namespace(pod.metadata.namespace ?? "default")
          .delete(pod.metadata.name ?? "", { gracePeriodSeconds: 0 })
          .catch(() => undefined);
      }
    }
  }
}
