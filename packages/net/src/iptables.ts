// skiff-net's netfilter rules, written whole and re-checked every sync (a flush repairs itself):
//   nat    SKIFF-NET-POSTRTG, jumped to from POSTROUTING: pod → pod traffic keeps its source;
//          pod → outside is masqueraded; host → remote pod is masqueraded so replies come back.
//   filter SKIFF-NET-FWD, jumped to from the top of FORWARD: pod traffic is forwarded
//          (Docker's FORWARD policy is DROP).
// The chains' rules are written in the form `iptables -S` prints them, so reading them back
// tells whether they are already right and a restart rewrites nothing.
import { execFile } from "node:child_process";

export const masqChain = "SKIFF-NET-POSTRTG";
export const forwardChain = "SKIFF-NET-FWD";

interface Jump {
  table: "nat" | "filter";
  from: string;
  to: string;
  comment: string;
}

const jumps: Jump[] = [
  { table: "nat", from: "POSTROUTING", to: masqChain, comment: "skiff-net: pod masquerading" },
  { table: "filter", from: "FORWARD", to: forwardChain, comment: "skiff-net: forward pod traffic" },
];

interface RunResult {
  code: number;
  stdout: string;
  stderr: string;
}

/** Runs a host tool; never throws for a non-zero exit. */
function run(command: string, args: readonly string[], stdin?: string): Promise<RunResult> {
  return new Promise((resolve, reject) => {
    const child = execFile(command, args, (err, stdout, stderr) => {
      const code = err ? (typeof err.code === "number" ? err.code : -1) : 0;
      if (err && typeof err.code === "string") reject(err);
      else resolve({ code, stdout, stderr });
    });
    child.stdin?.on("error", () => {}); // it may exit before reading everything
    child.stdin?.end(stdin ?? "");
  });
}

async function must(command: string, args: readonly string[], stdin?: string): Promise<string> {
  const r = await run(command, args, stdin);
  if (r.code !== 0)
    throw new Error(`${command} ${args.join(" ")} exited with ${r.code}: ${r.stderr.trim()}`);
  return r.stdout;
}

/** The masquerading rules for a node whose pods live in `podCIDR` of `clusterCIDR`. */
export function masqRules(clusterCIDR: string, podCIDR: string): string[] {
  const c = clusterCIDR;
  return [
    `-A ${masqChain} -s ${c} -d ${c} -j RETURN`,
    `-A ${masqChain} -s ${c} ! -d 224.0.0.0/4 -j MASQUERADE --random-fully`,
    `-A ${masqChain} ! -s ${c} -d ${podCIDR} -j RETURN`,
    `-A ${masqChain} ! -s ${c} -d ${c} -j MASQUERADE --random-fully`,
  ];
}

export function forwardRules(clusterCIDR: string): string[] {
  return [
    `-A ${forwardChain} -s ${clusterCIDR} -j ACCEPT`,
    `-A ${forwardChain} -d ${clusterCIDR} -j ACCEPT`,
  ];
}

const jumpArgs = (j: Jump): string[] => ["-m", "comment", "--comment", j.comment, "-j", j.to];

/** The chain's rules as `iptables -S` lists them, or undefined when there is no such chain. */
async function listChain(table: string, chain: string): Promise<string[] | undefined> {
  const r = await run("iptables", ["-w", "-t", table, "-S", chain]);
  if (r.code !== 0) return undefined;
  return r.stdout.split("\n").filter((l) => l.startsWith("-A "));
}

/** Makes the chain hold exactly `rules`; true when it had to write. */
async function ensureChain(table: string, chain: string, rules: string[]): Promise<boolean> {
  const have = await listChain(table, chain);
  if (have && have.join("\n") === rules.join("\n")) return false;
  // In iptables-restore, declaring a chain flushes it: the rules are replaced in one step.
  await must(
    "iptables-restore",
    ["-w", "--noflush"],
    [`*${table}`, `:${chain} - [0:0]`, ...rules, "COMMIT", ""].join("\n"),
  );
  return true;
}

/** Inserts the jump at the top of its built-in chain unless it is there; true when it did. */
async function ensureJump(j: Jump): Promise<boolean> {
  const check = await run("iptables", ["-w", "-t", j.table, "-C", j.from, ...jumpArgs(j)]);
  if (check.code === 0) return false;
  await must("iptables", ["-w", "-t", j.table, "-I", j.from, "1", ...jumpArgs(j)]);
  return true;
}

async function removeJumpAndChain(j: Jump): Promise<boolean> {
  let removed = false;
  for (let i = 0; i < 10; i++) {
    const del = await run("iptables", ["-w", "-t", j.table, "-D", j.from, ...jumpArgs(j)]);
    if (del.code !== 0) break;
    removed = true;
  }
  if ((await listChain(j.table, j.to)) !== undefined) {
    await must("iptables", ["-w", "-t", j.table, "-F", j.to]);
    await must("iptables", ["-w", "-t", j.table, "-X", j.to]);
    removed = true;
  }
  return removed;
}

export interface RulesOptions {
  clusterCIDR: string;
  podCIDR: string;
  ipMasq: boolean;
}

/** Installs or repairs the rules; returns what it had to change (empty when all was right). */
export async function ensureRules(o: RulesOptions): Promise<string[]> {
  const changed: string[] = [];
  const [nat, filter] = jumps as [Jump, Jump];
  if (o.ipMasq) {
    if (await ensureChain("nat", masqChain, masqRules(o.clusterCIDR, o.podCIDR)))
      changed.push(masqChain);
    if (await ensureJump(nat)) changed.push(`POSTROUTING → ${masqChain}`);
  } else if (await removeJumpAndChain(nat)) changed.push(`-${masqChain}`);
  if (await ensureChain("filter", forwardChain, forwardRules(o.clusterCIDR)))
    changed.push(forwardChain);
  if (await ensureJump(filter)) changed.push(`FORWARD → ${forwardChain}`);
  return changed;
}

/** --cleanup: removes both jumps and both chains; returns the chains it found. */
export async function removeRules(): Promise<string[]> {
  const removed: string[] = [];
  for (const j of jumps) if (await removeJumpAndChain(j)) removed.push(j.to);
  return removed;
}
