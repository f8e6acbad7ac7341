// NetworkPolicy enforcement in skiff-net (calico's role): watches Pods, Namespaces and
// NetworkPolicies, and after every change (and every resync) plans this node's rules
// (policy.ts) and writes what differs (netpol-iptables.ts). Syncs never overlap: a change
// during one runs one more after it.
import { resourceInfo } from "@skiff/api";
import type { Namespace, NetworkPolicy, Pod } from "@skiff/api";
import type { KubeObject, Logger, SharedInformer, SharedInformerFactory } from "@skiff/client";
import { planPolicies } from "./policy.js";
import { applyPolicies, ensureBridgeFiltering } from "./netpol-iptables.js";
import { SerialRunner } from "./runner.js";

type Obj<T> = T & KubeObject;

export interface PolicySyncResult {
  /** Chains and jumps written or removed (empty when all was right). */
  changed: string[];
  /** Local pods isolated per direction, "namespace/name". */
  ingress: string[];
  egress: string[];
}

export class PolicyEnforcer {
  private readonly pods: SharedInformer<Obj<Pod>>;
  private readonly namespaces: SharedInformer<Obj<Namespace>>;
  private readonly policies: SharedInformer<Obj<NetworkPolicy>>;
  private readonly runner: SerialRunner;
  private warnedBridge = false;
  /** The result of the latest sync. */
  lastSync?: PolicySyncResult;

  /** Registers the informers on `factory`: construct before the factory starts. */
  constructor(
    factory: SharedInformerFactory,
    private readonly nodeName: string,
    private readonly log: Logger,
  ) {
    this.runner = new SerialRunner(
      async () => {
        this.lastSync = await this.sync();
      },
      log,
      "network policy sync failed",
    );
    const resource = (group: string, plural: string) => resourceInfo(group, "v1", plural);
    this.pods = factory.forResource<Obj<Pod>>(resource("", "pods"));
    this.namespaces = factory.forResource<Obj<Namespace>>(resource("", "namespaces"));
    this.policies = factory.forResource<Obj<NetworkPolicy>>(
      resource("networking.k8s.io", "networkpolicies"),
    );
    for (const informer of [
      this.pods,
      this.namespaces,
      this.policies,
    ] as SharedInformer<KubeObject>[])
      informer.addEventHandler({
        add: () => this.kick(),
        update: (old, now) => {
          if (old.metadata.resourceVersion !== now.metadata.resourceVersion) this.kick();
        },
        delete: () => this.kick(),
      });
  }

  /** Runs a sync now, or once more after the one running. */
  kick(): void {
    this.runner.kick();
  }

  async stop(): Promise<void> {
    await this.runner.stop();
  }

  private async sync(): Promise<PolicySyncResult> {
    const plan = planPolicies({
      nodeName: this.nodeName,
      pods: this.pods.lister().list(),
      namespaces: this.namespaces.lister().list(),
      policies: this.policies.lister().list(),
    });
    if (plan.chains.size > 0 && !(await ensureBridgeFiltering()) && !this.warnedBridge) {
      this.warnedBridge = true;
      this.log.warn(
        { file: "/proc/sys/net/bridge/bridge-nf-call-iptables" },
        "no br_netfilter here (/proc/sys/net/bridge): traffic between pods of this node is not filtered",
      );
    }
    const changed = await applyPolicies(plan);
    const result = { changed, ingress: plan.ingress, egress: plan.egress };
    if (changed.length) this.log.info(result, "network policies written");
    return result;
  }
}
