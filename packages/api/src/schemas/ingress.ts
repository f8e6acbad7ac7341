// networking.k8s.io/v1 Ingress and IngressClass. Skiff runs no ingress controller: these
// are stored, validated and listed as a cluster without one does.
import type { Static } from "@sinclair/typebox";
import { atomic, int32, named, opt, str, typeMeta } from "./helpers.js";
import { ObjectMetaSchema, kindSchema } from "./meta.js";
import { TypedLocalObjectReference } from "./core.js";

const NET = "io.k8s.api.networking.v1";

export const IngressBackendSchema = named(`${NET}.IngressBackend`, {
  service: opt(
    named(`${NET}.IngressServiceBackend`, {
      name: str(),
      port: opt(
        named(
          `${NET}.ServiceBackendPort`,
          { name: opt(str()), number: opt(int32()) },
          {
            "x-kubernetes-map-type": "atomic",
          },
        ),
      ),
    }),
  ),
  resource: opt(TypedLocalObjectReference),
});
export type IngressBackend = Static<typeof IngressBackendSchema>;

export const HTTPIngressPathSchema = named(`${NET}.HTTPIngressPath`, {
  path: opt(str()),
  pathType: str(),
  backend: IngressBackendSchema,
});

export const IngressRuleSchema = named(`${NET}.IngressRule`, {
  host: opt(str()),
  http: opt(named(`${NET}.HTTPIngressRuleValue`, { paths: atomic(HTTPIngressPathSchema) })),
});

export const IngressTLSSchema = named(`${NET}.IngressTLS`, {
  hosts: opt(atomic(str())),
  secretName: opt(str()),
});

export const IngressSpecSchema = named(`${NET}.IngressSpec`, {
  ingressClassName: opt(str()),
  defaultBackend: opt(IngressBackendSchema),
  tls: opt(atomic(IngressTLSSchema)),
  rules: opt(atomic(IngressRuleSchema)),
});
export type IngressSpec = Static<typeof IngressSpecSchema>;

export const IngressStatusSchema = named(`${NET}.IngressStatus`, {
  loadBalancer: opt(
    named(`${NET}.IngressLoadBalancerStatus`, {
      ingress: opt(
        atomic(
          named(`${NET}.IngressLoadBalancerIngress`, {
            ip: opt(str()),
            hostname: opt(str()),
            ports: opt(
              atomic(
                named(`${NET}.IngressPortStatus`, {
                  port: int32(),
                  protocol: str(),
                  error: opt(str()),
                }),
              ),
            ),
          }),
        ),
      ),
    }),
  ),
});

export const IngressSchema = kindSchema(`${NET}.Ingress`, IngressSpecSchema, IngressStatusSchema);
export type Ingress = Static<typeof IngressSchema>;

export const IngressClassSpecSchema = named(`${NET}.IngressClassSpec`, {
  controller: opt(str()),
  parameters: opt(
    named(`${NET}.IngressClassParametersReference`, {
      apiGroup: opt(str()),
      kind: str(),
      name: str(),
      scope: opt(str({ default: "Cluster" })),
      namespace: opt(str()),
    }),
  ),
});

export const IngressClassSchema = named(`${NET}.IngressClass`, {
  ...typeMeta,
  metadata: opt(ObjectMetaSchema),
  spec: opt(IngressClassSpecSchema),
});
export type IngressClass = Static<typeof IngressClassSchema>;
