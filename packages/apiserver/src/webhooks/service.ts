// A webhook's `service` reference, resolved to an endpoint of the Service: the apiserver
// runs on the host, where pod IPs are reachable, and connects to one ready address at the
// service port's target port (as Kubernetes' --enable-aggregator-routing resolver does).
// TLS still checks the certificate against `<name>.<namespace>.svc`.
import { isObject, type KubeObject } from "../objects.js";
import type { ServiceTarget } from "./call.js";

type Obj = Record<string, unknown>;
const list = (v: unknown): Obj[] => (Array.isArray(v) ? v.filter(isObject) : []);

export function serviceTarget(
  service: KubeObject | undefined,
  endpoints: KubeObject | undefined,
  namespace: string,
  name: string,
  port: number,
): ServiceTarget {
  const serverName = `${name}.${namespace}.svc`;
  if (!service) throw new Error(`service "${name}" not found`);
  const spec = isObject(service.spec) ? service.spec : {};
  const svcPort = list(spec.ports).find((p) => p.port === port);
  if (!svcPort) throw new Error(`no service port ${port} found for service "${name}"`);
  if (spec.type === "ExternalName") {
    if (typeof spec.externalName !== "string")
      throw new Error(`service "${name}" has no externalName`);
    return { host: spec.externalName, port, serverName };
  }
  for (const subset of list(endpoints?.subsets)) {
    const ports = list(subset.ports);
    const epPort =
      ports.find((p) => (p.name ?? "") === (svcPort.name ?? "")) ??
      (ports.length === 1 ? ports[0] : undefined);
    const addresses = list(subset.addresses).filter((a) => typeof a.ip === "string");
    if (!epPort || typeof epPort.port !== "number" || addresses.length === 0) continue;
    const pick = addresses[Math.floor(Math.random() * addresses.length)]!;
    return { host: pick.ip as string, port: epPort.port, serverName };
  }
  throw new Error(`no endpoints available for service "${name}"`);
}
