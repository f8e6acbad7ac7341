// Jump rules from built-in chains into our own, as one declarative table used both to
// install them (check with -C, insert with -I) and to remove them again.
import type { Exec } from "../exec.js";
import { mustExec } from "../exec.js";

export interface JumpRule {
  table: "filter" | "nat";
  /** The built-in chain the jump sits in. */
  from: string;
  /** Our chain it jumps to. */
  to: string;
  comment?: string;
  extraArgs?: readonly string[];
}

function ruleArgs(j: JumpRule): string[] {
  return [
    ...(j.extraArgs ?? []),
    ...(j.comment ? ["-m", "comment", "--comment", j.comment] : []),
    "-j",
    j.to,
  ];
}

/** Whether a line of `iptables -S <chain>` is this jump (iptables prints our args in order). */
function listed(line: string, j: JumpRule): boolean {
  const comment = j.comment
    ? `--comment ${/\s/.test(j.comment) ? `"${j.comment}"` : j.comment} `
    : "";
  const extra = j.extraArgs?.length ? `${j.extraArgs.join(" ")} ` : "";
  return line === `-A ${j.from} ${extra}${comment ? `-m comment ${comment}` : ""}-j ${j.to}`;
}

/**
 * Inserts each jump at the top of its built-in chain unless it is there (iptables -C, then
 * -I), creating the target chain first if need be. Listing the few built-in chains comes
 * first: it takes milliseconds, where -C takes ~0.1 s once the table has thousands of chains.
 */
export async function ensureJumps(run: Exec, jumps: readonly JumpRule[]): Promise<void> {
  const builtins = [...new Set(jumps.map((j) => `${j.table} ${j.from}`))];
  const listings = new Map(
    await Promise.all(
      builtins.map(async (b) => {
        const [table, chain] = b.split(" ") as [string, string];
        const r = await run("iptables", ["-w", "-t", table, "-S", chain]);
        return [b, r.code === 0 ? r.stdout.split("\n") : []] as const;
      }),
    ),
  );
  for (const j of jumps) {
    if (listings.get(`${j.table} ${j.from}`)?.some((line) => listed(line, j))) continue;
    await run("iptables", ["-w", "-t", j.table, "-N", j.to]); // fails if it exists: fine
    const check = await run("iptables", ["-w", "-t", j.table, "-C", j.from, ...ruleArgs(j)]);
    if (check.code !== 0)
      await mustExec(run, "iptables", ["-w", "-t", j.table, "-I", j.from, "1", ...ruleArgs(j)]);
  }
}

/** Deletes every copy of each jump; missing rules and chains are not an error. */
export async function removeJumps(run: Exec, jumps: readonly JumpRule[]): Promise<void> {
  for (const j of jumps) {
    for (let i = 0; i < 10; i++) {
      const del = await run("iptables", ["-w", "-t", j.table, "-D", j.from, ...ruleArgs(j)]);
      if (del.code !== 0) break;
    }
  }
}
