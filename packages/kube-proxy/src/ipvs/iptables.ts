// The few iptables rules IPVS mode needs, as one iptables-restore --noflush input: IPVS does
// the balancing, iptables only decides what to masquerade.
//
// kube-proxy matches ClusterIPs, NodePorts and hairpin pairs with ipsets; Skiff uses plain
// rules keyed on the service CIDR instead (ipset is not needed, the rule count stays small):
//   nat KUBE-SERVICES      off-cluster sources to the service CIDR -> KUBE-MARK-MASQ;
//                          local destinations outside it -> KUBE-NODE-PORT
//       KUBE-NODE-PORT     one rule per NodePort with externalTrafficPolicy Cluster -> mark
//       KUBE-POSTROUTING   KUBE-LOOP-BACK (a local pod sent to itself through a service:
//                          source == destination, masquerade), then MASQUERADE what is marked
//   filter KUBE-FORWARD    accept marked and established traffic (Docker's FORWARD drops)
import type { JumpRule } from "../iptables/jumps.js";
import type { IpvsDesiredState } from "./desired.js";

export const ipvsChains = {
  nat: ["KUBE-SERVICES", "KUBE-NODE-PORT", "KUBE-LOOP-BACK", "KUBE-POSTROUTING", "KUBE-MARK-MASQ"],
  filter: ["KUBE-FORWARD"],
} as const;

/** The jumps from built-in chains (the same as iptables mode's, so either mode removes them). */
export const ipvsJumpRules: JumpRule[] = [
  { table: "nat", from: "OUTPUT", to: "KUBE-SERVICES", comment: "kubernetes service portals" },
  { table: "nat", from: "PREROUTING", to: "KUBE-SERVICES", comment: "kubernetes service portals" },
  {
    table: "nat",
    from: "POSTROUTING",
    to: "KUBE-POSTROUTING",
    comment: "kubernetes postrouting rules",
  },
  { table: "filter", from: "FORWARD", to: "KUBE-FORWARD", comment: "kubernetes forwarding rules" },
];

export interface IpvsRulesOptions {
  clusterCIDR: string;
  serviceCIDR: string;
  /** kube-proxy --iptables-masquerade-bit (14). */
  masqueradeBit?: number;
}

export function buildIpvsRules(
  state: Pick<IpvsDesiredState, "masqueradeNodePorts" | "localEndpointIPs">,
  options: IpvsRulesOptions,
): string {
  const mark = "0x" + (1 << (options.masqueradeBit ?? 14)).toString(16);
  const nat = [
    "*nat",
    ...ipvsChains.nat.map((c) => `:${c} - [0:0]`),
    `-A KUBE-SERVICES ! -s ${options.clusterCIDR} -d ${options.serviceCIDR} -m comment --comment "Kubernetes service cluster ip + port for masquerade purpose" -j KUBE-MARK-MASQ`,
    `-A KUBE-SERVICES ! -d ${options.serviceCIDR} -m addrtype --dst-type LOCAL -j KUBE-NODE-PORT`,
    ...state.masqueradeNodePorts.map(
      (p) => `-A KUBE-NODE-PORT -p ${p.protocol.toLowerCase()} --dport ${p.port} -j KUBE-MARK-MASQ`,
    ),
    ...state.localEndpointIPs.map(
      (ip) =>
        `-A KUBE-LOOP-BACK -s ${ip}/32 -d ${ip}/32 -m comment --comment "hairpin: a pod reached itself through a service" -j MASQUERADE`,
    ),
    "-A KUBE-POSTROUTING -j KUBE-LOOP-BACK",
    `-A KUBE-POSTROUTING -m mark ! --mark ${mark}/${mark} -j RETURN`,
    `-A KUBE-POSTROUTING -j MARK --xor-mark ${mark}`,
    `-A KUBE-POSTROUTING -m comment --comment "kubernetes service traffic requiring SNAT" -j MASQUERADE --random-fully`,
    `-A KUBE-MARK-MASQ -j MARK --or-mark ${mark}`,
    "COMMIT",
  ];
  const filter = [
    "*filter",
    ...ipvsChains.filter.map((c) => `:${c} - [0:0]`),
    `-A KUBE-FORWARD -m conntrack --ctstate INVALID -j DROP`,
    `-A KUBE-FORWARD -m comment --comment "kubernetes forwarding rules" -m mark --mark ${mark}/${mark} -j ACCEPT`,
    `-A KUBE-FORWARD -m comment --comment "kubernetes forwarding conntrack rule" -m conntrack --ctstate RELATED,ESTABLISHED -j ACCEPT`,
    "COMMIT",
  ];
  return [...filter, ...nat, ""].join("\n");
}

/** Chains only IPVS mode uses; the others have the same names (and jumps) as iptables mode's. */
export const ipvsOnlyChains = ["KUBE-NODE-PORT", "KUBE-LOOP-BACK"] as const;

/**
 * Flushes every IPVS-mode chain and deletes those only IPVS mode uses. The shared ones are
 * deleted one by one afterwards (ipvsSharedChains): iptables mode's chains may still jump to
 * KUBE-MARK-MASQ, and one failed -X would undo a whole restore.
 */
export function ipvsCleanupRules(): string {
  const lines = (table: "nat" | "filter"): string[] => [
    `*${table}`,
    ...ipvsChains[table].map((c) => `:${c} - [0:0]`),
    ...ipvsChains[table]
      .filter((c) => (ipvsOnlyChains as readonly string[]).includes(c))
      .map((c) => `-X ${c}`),
    "COMMIT",
  ];
  return [...lines("filter"), ...lines("nat"), ""].join("\n");
}

export const ipvsSharedChains = (["nat", "filter"] as const).flatMap((table) =>
  ipvsChains[table]
    .filter((c) => !(ipvsOnlyChains as readonly string[]).includes(c))
    .map((chain) => ({ table, chain })),
);
