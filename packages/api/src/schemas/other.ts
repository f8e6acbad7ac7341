// The smaller groups: coordination.k8s.io/v1 Lease, discovery.k8s.io/v1 EndpointSlice and
// the autoscaling/v1 Scale that /scale subresources speak.
import type { Static } from "@sinclair/typebox";
import {
  atomic,
  bool,
  int32,
  microTime,
  named,
  opt,
  set,
  str,
  strMap,
  typeMeta,
  withDefault,
} from "./helpers.js";
import { ObjectMetaSchema } from "./meta.js";
import { ObjectReferenceSchema } from "./core.js";

export const LeaseSpecSchema = named("io.k8s.api.coordination.v1.LeaseSpec", {
  holderIdentity: opt(str()),
  leaseDurationSeconds: opt(int32()),
  acquireTime: opt(microTime()),
  renewTime: opt(microTime()),
  leaseTransitions: opt(int32()),
});
export type LeaseSpec = Static<typeof LeaseSpecSchema>;

export const LeaseSchema = named("io.k8s.api.coordination.v1.Lease", {
  ...typeMeta,
  metadata: opt(ObjectMetaSchema),
  spec: opt(LeaseSpecSchema),
});
export type Lease = Static<typeof LeaseSchema>;

const DISCOVERY = "io.k8s.api.discovery.v1";

export const EndpointConditionsSchema = named(`${DISCOVERY}.EndpointConditions`, {
  ready: opt(bool()),
  serving: opt(bool()),
  terminating: opt(bool()),
});

export const EndpointSchema = named(`${DISCOVERY}.Endpoint`, {
  addresses: set(str()),
  conditions: opt(EndpointConditionsSchema),
  hostname: opt(str()),
  targetRef: opt(ObjectReferenceSchema),
  deprecatedTopology: opt(strMap()),
  nodeName: opt(str()),
  zone: opt(str()),
  hints: opt(
    named(`${DISCOVERY}.EndpointHints`, {
      forZones: opt(atomic(named(`${DISCOVERY}.ForZone`, { name: str() }))),
    }),
  ),
});
export type Endpoint = Static<typeof EndpointSchema>;

export const DiscoveryEndpointPortSchema = named(
  `${DISCOVERY}.EndpointPort`,
  {
    name: opt(str({ default: "" })),
    protocol: opt(str({ default: "TCP" })),
    port: opt(int32()),
    appProtocol: opt(str()),
  },
  { "x-kubernetes-map-type": "atomic" },
);
export type DiscoveryEndpointPort = Static<typeof DiscoveryEndpointPortSchema>;

export const EndpointSliceSchema = named(`${DISCOVERY}.EndpointSlice`, {
  ...typeMeta,
  metadata: opt(ObjectMetaSchema),
  addressType: str(),
  endpoints: atomic(EndpointSchema),
  ports: opt(atomic(DiscoveryEndpointPortSchema)),
});
export type EndpointSlice = Static<typeof EndpointSliceSchema>;

const AUTOSCALING = "io.k8s.api.autoscaling.v1";

export const ScaleSchema = named(`${AUTOSCALING}.Scale`, {
  ...typeMeta,
  metadata: opt(ObjectMetaSchema),
  spec: opt(withDefault(named(`${AUTOSCALING}.ScaleSpec`, { replicas: opt(int32()) }), {})),
  status: opt(named(`${AUTOSCALING}.ScaleStatus`, { replicas: int32(), selector: opt(str()) })),
});
export type Scale = Static<typeof ScaleSchema>;
