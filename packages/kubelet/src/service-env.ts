// Service environment variables, as the kubelet puts them in every container: the simple
// `<NAME>_SERVICE_HOST/_SERVICE_PORT` form and the Docker-links form (`<NAME>_PORT_80_TCP...`).
//
// Which Services count (Kubernetes' getServiceEnvVarMap): the `kubernetes` Service of the
// `default` namespace always; with enableServiceLinks (the default) also every Service of the
// pod's own namespace, a same-named one there winning over `default/kubernetes`. Services
// without a cluster IP (headless, or not yet allocated) give no variables. The container's
// own env wins over these; the caller puts them first so that it does.

/** The fields of a Service the variables come from. */
export interface ServiceForEnv {
  metadata: { name?: string; namespace?: string };
  spec?: {
    clusterIP?: string;
    ports?: { name?: string; port: number; protocol?: string }[];
  };
}

const MASTER_NAMESPACE = "default";
const MASTER_SERVICES = new Set(["kubernetes"]);

/** The variables for a pod in `namespace`, sorted by Service name for a stable environment. */
export function serviceEnv(
  services: readonly ServiceForEnv[],
  namespace: string,
  enableServiceLinks = true,
): { name: string; value: string }[] {
  const chosen = new Map<string, ServiceForEnv>();
  for (const s of services) {
    const name = s.metadata.name ?? "";
    if (!hasClusterIP(s)) continue;
    const ns = s.metadata.namespace ?? "default";
    if (ns === MASTER_NAMESPACE && MASTER_SERVICES.has(name)) {
      if (!chosen.has(name)) chosen.set(name, s);
    } else if (ns === namespace && enableServiceLinks) {
      chosen.set(name, s);
    }
  }
  const names = [...chosen.keys()].sort();
  return names.flatMap((n) => variablesFor(chosen.get(n)!));
}

function hasClusterIP(s: ServiceForEnv): boolean {
  const ip = s.spec?.clusterIP ?? "";
  return ip !== "" && ip !== "None";
}

/** `my-svc` → `MY_SVC`. */
function envName(s: string): string {
  return s.replaceAll("-", "_").toUpperCase();
}

function variablesFor(s: ServiceForEnv): { name: string; value: string }[] {
  const prefix = envName(s.metadata.name ?? "");
  const ip = s.spec?.clusterIP ?? "";
  const ports = s.spec?.ports ?? [];
  const out: { name: string; value: string }[] = [];
  const add = (name: string, value: string | number) => out.push({ name, value: String(value) });
  add(`${prefix}_SERVICE_HOST`, ip);
  if (ports[0]) add(`${prefix}_SERVICE_PORT`, ports[0].port);
  for (const p of ports) if (p.name) add(`${prefix}_SERVICE_PORT_${envName(p.name)}`, p.port);
  // The Docker-links form: the first port also gives the bare `<NAME>_PORT`.
  const host = ip.includes(":") ? `[${ip}]` : ip;
  ports.forEach((p, i) => {
    const protocol = (p.protocol ?? "TCP").toLowerCase();
    const url = `${protocol}://${host}:${p.port}`;
    const link = `${prefix}_PORT_${p.port}_${protocol.toUpperCase()}`;
    if (i === 0) add(`${prefix}_PORT`, url);
    add(link, url);
    add(`${link}_PROTO`, protocol);
    add(`${link}_PORT`, p.port);
    add(`${link}_ADDR`, ip);
  });
  return out;
}
