// Static pods: pod manifests in `--pod-manifest-path` that the kubelet runs by itself, shown in
// the API as mirror pods (annotation kubernetes.io/config.mirror) that only report status.
import { createHash } from "node:crypto";
import { readdir, readFile } from "node:fs/promises";
import { join } from "node:path";
import { parse } from "yaml";
import type { Pod } from "./objects.js";

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
