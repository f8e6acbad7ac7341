// NetworkPolicy checks and defaults, as Kubernetes 1.31 words and sets them
// (pkg/apis/networking/validation, networking/v1 SetDefaults_NetworkPolicy).
import type {
  IPBlock,
  NetworkPolicy,
  NetworkPolicyPeer,
  NetworkPolicyPort,
} from "../schemas/networkpolicy.js";
import { POLICY_TYPES } from "../schemas/networkpolicy.js";
import type { FieldErrors } from "./errors.js";
import { validateLabelSelector } from "./meta.js";
import { isCIDR, isIPv4, isValidPortName, isValidPortNum } from "./names.js";

const PROTOCOLS = ["TCP", "UDP", "SCTP"];

export function validateNetworkPolicy(errs: FieldErrors, np: NetworkPolicy): void {
  const spec = np.spec;
  if (!spec) return;
  validateLabelSelector(errs, spec.podSelector, "spec.podSelector");
  const rules = [
    ...(spec.ingress ?? []).map((r, i) => ({
      path: `spec.ingress[${i}]`,
      ports: r.ports,
      peers: r.from,
      peersField: "from",
    })),
    ...(spec.egress ?? []).map((r, i) => ({
      path: `spec.egress[${i}]`,
      ports: r.ports,
      peers: r.to,
      peersField: "to",
    })),
  ];
  for (const rule of rules) {
    (rule.ports ?? []).forEach((p, i) => validatePort(errs, p, `${rule.path}.ports[${i}]`));
    (rule.peers ?? []).forEach((p, i) =>
      validatePeer(errs, p, `${rule.path}.${rule.peersField}[${i}]`),
    );
  }
  const types = spec.policyTypes ?? [];
  if (types.length > POLICY_TYPES.length) {
    errs.invalid("spec.policyTypes", types, "may not specify more than two policyTypes");
    return;
  }
  types.forEach((t, i) => {
    if (!(POLICY_TYPES as readonly string[]).includes(t))
      errs.notSupported(`spec.policyTypes[${i}]`, t, POLICY_TYPES);
  });
}

function validatePort(errs: FieldErrors, port: NetworkPolicyPort, path: string): void {
  if (port.protocol !== undefined && !PROTOCOLS.includes(port.protocol))
    errs.notSupported(`${path}.protocol`, port.protocol, PROTOCOLS);
  if (port.port === undefined) {
    if (port.endPort !== undefined)
      errs.invalid(
        `${path}.endPort`,
        port.endPort,
        "may not be specified when `port` is not specified",
      );
    return;
  }
  if (typeof port.port === "number") {
    errs.invalidEach(`${path}.port`, port.port, isValidPortNum(port.port));
    if (port.endPort !== undefined) {
      if (port.endPort < port.port)
        errs.invalid(`${path}.endPort`, port.port, "must be greater than or equal to `port`");
      errs.invalidEach(`${path}.endPort`, port.endPort, isValidPortNum(port.endPort));
    }
    return;
  }
  if (port.endPort !== undefined)
    errs.invalid(
      `${path}.endPort`,
      port.endPort,
      "may not be specified when `port` is non-numeric",
    );
  errs.invalidEach(`${path}.port`, port.port, isValidPortName(port.port));
}

function validatePeer(errs: FieldErrors, peer: NetworkPolicyPeer, path: string): void {
  let count = 0;
  if (peer.podSelector) {
    count++;
    validateLabelSelector(errs, peer.podSelector, `${path}.podSelector`);
  }
  if (peer.namespaceSelector) {
    count++;
    validateLabelSelector(errs, peer.namespaceSelector, `${path}.namespaceSelector`);
  }
  if (peer.ipBlock) {
    count++;
    validateIPBlock(errs, peer.ipBlock, `${path}.ipBlock`);
  }
  if (count === 0) errs.required(path, "must specify a peer");
  else if (count > 1 && peer.ipBlock)
    errs.forbidden(path, "may not specify both ipBlock and another peer");
}

const CIDR_FORMAT = "must be a valid CIDR value, (e.g. 10.9.8.0/24 or 2001:db8::/64)";

function validateIPBlock(errs: FieldErrors, block: IPBlock, path: string): void {
  if (!block.cidr) return errs.required(`${path}.cidr`);
  const outer = parseCIDR(block.cidr);
  if (!outer) return errs.invalid(`${path}.cidr`, block.cidr, CIDR_FORMAT);
  (block.except ?? []).forEach((e, i) => {
    const inner = parseCIDR(e);
    if (!inner) return errs.invalid(`${path}.except[${i}]`, e, CIDR_FORMAT);
    const inside =
      inner.bits === outer.bits &&
      inner.prefix > outer.prefix &&
      inner.network >> BigInt(inner.bits - outer.prefix) ===
        outer.network >> BigInt(outer.bits - outer.prefix);
    if (!inside) errs.invalid(`${path}.except[${i}]`, e, "must be a strict subset of `cidr`");
  });
}

/** A CIDR as its address bits (host bits kept, as Go's ParseCIDR compares them masked). */
function parseCIDR(cidr: string): { network: bigint; prefix: number; bits: number } | undefined {
  if (!isCIDR(cidr)) return undefined;
  const [ip = "", bits = ""] = cidr.split("/");
  const prefix = Number(bits);
  if (isIPv4(ip)) {
    const n = ip.split(".").reduce((acc, o) => (acc << 8n) + BigInt(o), 0n);
    return { network: n, prefix, bits: 32 };
  }
  return { network: ipv6ToBigInt(ip), prefix, bits: 128 };
}

function ipv6ToBigInt(ip: string): bigint {
  let text = ip;
  const v4 = /(\d+\.\d+\.\d+\.\d+)$/.exec(text)?.[1];
  if (v4) {
    const [a = 0, b = 0, c = 0, d = 0] = v4.split(".").map(Number);
    text =
      text.slice(0, -v4.length) + `${((a << 8) | b).toString(16)}:${((c << 8) | d).toString(16)}`;
  }
  const [head = "", tail] = text.split("::");
  const h = head ? head.split(":") : [];
  const t = tail ? tail.split(":") : [];
  const groups = [...h, ...Array<string>(8 - h.length - t.length).fill("0"), ...t];
  return groups.reduce((acc, g) => (acc << 16n) + BigInt(parseInt(g || "0", 16)), 0n);
}

/** SetDefaults_NetworkPolicy: no policyTypes means Ingress, plus Egress when egress rules exist. */
export function defaultPolicyTypes(spec: Record<string, unknown>): void {
  const types = spec.policyTypes;
  if (Array.isArray(types) && types.length > 0) return;
  const egress = spec.egress;
  spec.policyTypes =
    Array.isArray(egress) && egress.length > 0 ? ["Ingress", "Egress"] : ["Ingress"];
}
