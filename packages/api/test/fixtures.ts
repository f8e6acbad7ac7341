// Manifests shared by the schema tests, written as a user would write them.
import { findResourceByKind, type ResourceInfo } from "../src/resources.js";

export function info(apiVersion: string, kind: string): ResourceInfo {
  const r = findResourceByKind(apiVersion, kind);
  if (!r) throw new Error(`no resource ${apiVersion} ${kind}`);
  return r;
}

export const podInfo = info("v1", "Pod");
export const deploymentInfo = info("apps/v1", "Deployment");
export const serviceInfo = info("v1", "Service");
export const jobInfo = info("batch/v1", "Job");

export function bareDeployment(): Record<string, unknown> {
  return {
    apiVersion: "apps/v1",
    kind: "Deployment",
    metadata: { name: "web", namespace: "default", labels: { app: "web" } },
    spec: {
      replicas: 3,
      selector: { matchLabels: { app: "web" } },
      template: {
        metadata: { labels: { app: "web" } },
        spec: {
          containers: [
            {
              name: "nginx",
              image: "nginx:1.27",
              ports: [{ containerPort: 80, name: "http" }],
              env: [
                { name: "POD_NAME", valueFrom: { fieldRef: { fieldPath: "metadata.name" } } },
                { name: "MODE", value: "prod" },
              ],
              resources: {
                requests: { cpu: "100m", memory: "64Mi" },
                limits: { cpu: 1, memory: "128Mi" },
              },
              readinessProbe: { httpGet: { path: "/healthz", port: "http" } },
              volumeMounts: [{ name: "cache", mountPath: "/cache" }],
            },
          ],
          volumes: [{ name: "cache", emptyDir: {} }],
        },
      },
    },
  };
}

export function barePod(image = "busybox:1.36"): Record<string, unknown> {
  return {
    apiVersion: "v1",
    kind: "Pod",
    metadata: { name: "box", namespace: "default" },
    spec: { containers: [{ name: "box", image, command: ["sleep", "3600"] }] },
  };
}

/** Reads a nested value by path segments, for terse assertions. */
export function at(obj: unknown, ...path: (string | number)[]): unknown {
  let cur: unknown = obj;
  for (const p of path) {
    if (cur === null || typeof cur !== "object") return undefined;
    cur = (cur as Record<string | number, unknown>)[p];
  }
  return cur;
}
