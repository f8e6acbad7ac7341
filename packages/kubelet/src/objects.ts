// The API kinds the kubelet reads and writes, with metadata always present (as the client
// hands them out).
import type * as api from "@skiff/api";
import type { KubeObject } from "@skiff/client";

export type Pod = api.Pod & KubeObject;
export type Node = api.Node & KubeObject;
export type Lease = api.Lease & KubeObject;
export type ConfigMap = api.ConfigMap & KubeObject;
export type Secret = api.Secret & KubeObject;
export type Service = api.Service & KubeObject;
