// Puts a PolicyPlan into the kernel: reads our SKIFF-NP-* chains and FORWARD from
// `iptables-save -t filter`, then rewrites only the chains that differ, moves the jump back to
// the top of FORWARD if something was inserted above it, and deletes chains no longer
// wanted — all in one `iptables-restore --noflush` transaction, so allowed traffic never sees a
// half-written rule set. With nothing to enforce, the jump and every chain go.
import { readFile, writeFile } from "node:fs/promises";
import { execFile } from "node:child_process";
import { policyChain, policyChainPrefix } from "./policy.js";
import type { PolicyPlan } from "./policy.js";

const jump = `-A FORWARD -m comment --comment "skiff-net: network policies" -j ${policyChain}`;
/** The file that makes bridged (same-node) pod traffic cross FORWARD. */
export const bridgeNF = "/proc/sys/net/bridge/bridge-nf-call-iptables";

function run(command: string, args: readonly string[], stdin?: string): Promise<string> {
  return new Promise((resolve, reject) => {
    const child = execFile(
      command,
      args,
      { maxBuffer: 256 * 1024 * 1024 },
      (err, stdout, stderr) =>
        err
          ? reject(new Error(`${command} ${args.join(" ")}: ${stderr.trim() || err.message}`))
          : resolve(stdout),
    );
    child.stdin?.on("error", () => {});
    child.stdin?.end(stdin ?? "");
  });
}

interface Observed {
  chains: Map<string, string[]>;
  forward: string[];
}

async function observe(): Promise<Observed> {
  const chains = new Map<string, string[]>();
  const forward: string[] = [];
  for (const line of (await run("iptables-save", ["-t", "filter"])).split("\n")) {
    const declared = /^:(\S+) /.exec(line)?.[1];
    if (declared?.startsWith(policyChainPrefix)) chains.set(declared, []);
    const chain = /^-A (\S+) /.exec(line)?.[1];
    if (chain?.startsWith(policyChainPrefix)) chains.get(chain)?.push(line);
    if (chain === "FORWARD") forward.push(line);
  }
  return { chains, forward };
}

/** What one sync must write, as iptables-restore input; "" when the kernel is already right. */
export function policyRestore(
  plan: PolicyPlan,
  observed: Observed,
): { text: string; changed: string[] } {
  const changed: string[] = [];
  const declare: string[] = [];
  const rules: string[] = [];
  const tail: string[] = [];
  for (const [chain, want] of plan.chains) {
    const have = observed.chains.get(chain);
    if (have && have.join("\n") === want.join("\n")) continue;
    changed.push(chain);
    declare.push(`:${chain} - [0:0]`);
    rules.push(...want);
  }
  const copies = observed.forward.filter((l) => l === jump).length;
  const enforcing = plan.chains.size > 0;
  const first = observed.forward[0] === jump && copies === 1;
  if (enforcing && !first) {
    // Delete and insert in one transaction: the jump is never missing.
    for (let i = 0; i < copies; i++) tail.push(jump.replace("-A FORWARD", "-D FORWARD"));
    tail.push(jump.replace("-A FORWARD", "-I FORWARD 1"));
    changed.push(`FORWARD → ${policyChain}`);
  }
  if (!enforcing && copies > 0) {
    for (let i = 0; i < copies; i++) tail.push(jump.replace("-A FORWARD", "-D FORWARD"));
    changed.push(`-FORWARD → ${policyChain}`);
  }
  for (const chain of observed.chains.keys()) {
    if (plan.chains.has(chain)) continue;
    declare.push(`:${chain} - [0:0]`); // flushes it, so nothing of ours refers to it any more
    tail.push(`-X ${chain}`);
    changed.push(`-${chain}`);
  }
  if (changed.length === 0) return { text: "", changed };
  return { text: ["*filter", ...declare, ...rules, ...tail, "COMMIT", ""].join("\n"), changed };
}

/** Makes the kernel hold the plan; returns what it changed (empty when all was right). */
export async function applyPolicies(plan: PolicyPlan): Promise<string[]> {
  const { text, changed } = policyRestore(plan, await observe());
  if (text) {
    // Chains deleted (-X) while others referring to them are rewritten: declare first, then
    // rules, then deletions, all in one transaction.
    await run("iptables-restore", ["-w", "--noflush"], text);
  }
  return changed;
}

/**
 * Same-node pod traffic crosses a Linux bridge; only with bridge-nf-call-iptables does it meet
 * FORWARD. Sets it when enforcing; returns false when the kernel has no br_netfilter here.
 */
export async function ensureBridgeFiltering(): Promise<boolean> {
  try {
    if ((await readFile(bridgeNF, "utf8")).trim() !== "1") await writeFile(bridgeNF, "1\n");
    return true;
  } catch {
    return false;
  }
}

/** --cleanup: the jump and every SKIFF-NP-* chain; returns what it removed. */
export async function removePolicies(): Promise<string[]> {
  return applyPolicies({ chains: new Map(), ingress: [], egress: [] });
}
