// Runs the host tools kube-proxy drives (iptables, ip, conntrack, sysctl) and collects output.
import { spawn } from "node:child_process";
import { CommandError } from "./errors.js";

export interface ExecResult {
  code: number;
  stdout: string;
  stderr: string;
}

/** Runs a command; never throws for a non-zero exit (callers decide what a failure means). */
export type Exec = (
  command: string,
  args: readonly string[],
  stdin?: string,
) => Promise<ExecResult>;

export const exec: Exec = (command, args, stdin) =>
  new Promise((resolve, reject) => {
    const child = spawn(command, args, { stdio: ["pipe", "pipe", "pipe"] });
    const out: Buffer[] = [];
    const err: Buffer[] = [];
    child.stdout.on("data", (d: Buffer) => out.push(d));
    child.stderr.on("data", (d: Buffer) => err.push(d));
    child.on("error", reject);
    child.on("close", (code) =>
      resolve({
        code: code ?? -1,
        stdout: Buffer.concat(out).toString(),
        stderr: Buffer.concat(err).toString(),
      }),
    );
    child.stdin.on("error", () => {}); // the child may exit before reading everything
    child.stdin.end(stdin ?? "");
  });

/** An Exec that runs every command inside a network namespace (benchmarks, isolated tests). */
export function execInNetns(netns: string): Exec {
  return (command, args, stdin) => exec("ip", ["netns", "exec", netns, command, ...args], stdin);
}

/** Runs a command and throws CommandError unless it exits 0. */
export async function mustExec(
  run: Exec,
  command: string,
  args: readonly string[],
  stdin?: string,
): Promise<string> {
  const result = await run(command, args, stdin);
  if (result.code !== 0) throw new CommandError(`${command} ${args.join(" ")}`, result);
  return result.stdout;
}
