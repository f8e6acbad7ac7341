// metrics.k8s.io/v1beta1, the resource metrics API (what `kubectl top` and the HPA read):
// computed by the apiserver from the kubelets' summaries and never stored or written, so
// types only, without a schema.
import type { ObjectMeta } from "./schemas/meta.js";

/** Usage by resource name ("cpu", "memory"), as quantities. */
export type ResourceUsage = Record<string, string>;

export interface ContainerMetrics {
  name: string;
  usage: ResourceUsage;
}

export interface PodMetrics {
  apiVersion?: string;
  kind?: string;
  metadata: ObjectMeta;
  timestamp: string;
  window: string;
  containers: ContainerMetrics[];
}

export interface NodeMetrics {
  apiVersion?: string;
  kind?: string;
  metadata: ObjectMeta;
  timestamp: string;
  window: string;
  usage: ResourceUsage;
}
