// The kinds kube-proxy reads (@skiff/api's types with the client's metadata), the node it
// runs on, and its logger.

import type * as api from "@skiff/api";
import type { KubeObject } from "@skiff/client";

/** The protocols a Service port may name (the apiserver refuses others). */
export type Protocol = "TCP" | "UDP" | "SCTP";

/** A port's protocol, "TCP" when unset; undefined for one no proxier programs. */
export function portProtocol(port: { protocol?: string }): Protocol | undefined {
  const p = port.protocol ?? "TCP";
  return p === "TCP" || p === "UDP" || p === "SCTP" ? p : undefined;
}

export type ServicePort = api.ServicePort;
/** A Service as the proxiers read it: with a spec (the watch handler checks it is there). */
export type Service = api.Service & KubeObject & { spec: api.ServiceSpec };
export type Endpoint = api.Endpoint;
export type EndpointSlice = api.EndpointSlice & KubeObject;
export type Endpoints = api.Endpoints & KubeObject;

/** The node kube-proxy runs on: its name picks out local endpoints. */
export interface NodeInfo {
  name: string;
  addresses: string[];
}

/** The label that ties an EndpointSlice to its Service. */
export const serviceNameLabel = "kubernetes.io/service-name";

/** Structured logger (pino's calling convention), so the program can hand in pino. */
export interface Logger {
  info(obj: object, msg?: string): void;
  warn(obj: object, msg?: string): void;
  error(obj: object, msg?: string): void;
}

export const silentLogger: Logger = { info() {}, warn() {}, error() {} };
