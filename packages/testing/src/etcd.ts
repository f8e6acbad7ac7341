// Starts real etcd servers (the `etcd` binary) on random loopback ports, alone or as a cluster.
import { spawn, type ChildProcess } from "node:child_process";
import { accessSync, constants, mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { freePort } from "./ports.js";

export { freePort } from "./ports.js";

/** One etcd server; `stop()` kills it and removes its data. */
export interface Etcd {
  endpoints: string[];
  /** The etcd process id (for benchmarks that count its CPU time). */
  readonly pid: number | undefined;
  stop(): Promise<void>;
}

/** A member of a test cluster: it can be stopped and started again with the data it had. */
export interface EtcdMember {
  readonly name: string;
  readonly clientURL: string;
  readonly peerURL: string;
  readonly dataDir: string;
  readonly running: boolean;
  /** The process id while running. */
  readonly pid: number | undefined;
  /** Stops the member (its data directory is kept). */
  stop(): Promise<void>;
  /** Starts the member again and waits until it is healthy. */
  start(): Promise<void>;
}

export interface EtcdCluster {
  endpoints: string[];
  members: EtcdMember[];
  /** Stops every member and removes all their data. */
  stop(): Promise<void>;
}

const startTimeoutMs = 20_000;
const stopTimeoutMs = 5_000;
const attempts = 3; // a random port can be taken by someone else between choosing and binding

// Safety net: a test that fails before its cleanup must not leave etcd running.
const live = new Set<ChildProcess>();
const dataRoots = new Set<string>();
process.once("exit", () => {
  for (const child of live) child.kill("SIGKILL");
  for (const dir of dataRoots) rmSync(dir, { recursive: true, force: true });
});

/** Starts a single-member etcd cluster. */
export async function startEtcd(): Promise<Etcd> {
  const cluster = await startEtcdCluster(1);
  const member = cluster.members[0]!;
  return {
    endpoints: cluster.endpoints,
    get pid() {
      return member.pid;
    },
    stop: () => cluster.stop(),
  };
}

/** Starts an etcd cluster of `size` members (default 3) and waits until every member is healthy. */
export async function startEtcdCluster(size = 3): Promise<EtcdCluster> {
  for (let attempt = 1; ; attempt++) {
    const root = mkdtempSync(join(tempBase(), "skiff-etcd-"));
    dataRoots.add(root);
    const members = await planMembers(size, root);
    try {
      await Promise.all(members.map((m) => m.start()));
    } catch (err) {
      await Promise.all(members.map((m) => m.stop("SIGKILL")));
      removeRoot(root);
      if (attempt >= attempts) throw err;
      continue;
    }
    return {
      endpoints: members.map((m) => m.clientURL),
      members,
      async stop() {
        // The data is thrown away, so there is no point in a graceful stop: a member left
        // without quorum would take seconds to give up.
        await Promise.all(members.map((m) => m.stop("SIGKILL")));
        removeRoot(root);
      },
    };
  }
}

async function planMembers(size: number, root: string): Promise<Member[]> {
  const token = `skiff-test-${process.pid}-${Date.now()}`;
  const plans: Array<{ name: string; clientURL: string; peerURL: string }> = [];
  for (let i = 0; i < size; i++) {
    plans.push({
      name: `etcd-${i}`,
      clientURL: `http://127.0.0.1:${await freePort()}`,
      peerURL: `http://127.0.0.1:${await freePort()}`,
    });
  }
  const initialCluster = plans.map((p) => `${p.name}=${p.peerURL}`).join(",");
  return plans.map((p) => {
    const dataDir = join(root, p.name);
    // Once the data directory holds a member, etcd ignores the initial-cluster flags, so the
    // same arguments serve both the first start and a restart.
    const args = [
      `--name=${p.name}`,
      `--data-dir=${dataDir}`,
      `--listen-client-urls=${p.clientURL}`,
      `--advertise-client-urls=${p.clientURL}`,
      `--listen-peer-urls=${p.peerURL}`,
      `--initial-advertise-peer-urls=${p.peerURL}`,
      `--initial-cluster=${initialCluster}`,
      "--initial-cluster-state=new",
      `--initial-cluster-token=${token}`,
      "--logger=zap",
      "--log-level=warn",
    ];
    return new Member(p.name, p.clientURL, p.peerURL, dataDir, args);
  });
}

class Member implements EtcdMember {
  private child: ChildProcess | undefined;
  private logTail: string[] = [];

  constructor(
    readonly name: string,
    readonly clientURL: string,
    readonly peerURL: string,
    readonly dataDir: string,
    private readonly args: string[],
  ) {}

  get running(): boolean {
    return this.child !== undefined;
  }

  get pid(): number | undefined {
    return this.child?.pid;
  }

  async start(): Promise<void> {
    if (this.child) return;
    this.logTail = [];
    const child = spawn("etcd", this.args, { stdio: ["ignore", "ignore", "pipe"] });
    this.child = child;
    live.add(child);
    let failure: Error | undefined;
    child.on("error", (err) => (failure = err)); // e.g. no etcd binary
    child.stderr?.setEncoding("utf8");
    child.stderr?.on("data", (chunk: string) => {
      this.logTail.push(...chunk.split("\n").filter(Boolean));
      this.logTail.splice(0, Math.max(0, this.logTail.length - 20));
    });
    child.once("exit", () => {
      live.delete(child);
      if (this.child === child) this.child = undefined;
    });

    const deadline = Date.now() + startTimeoutMs;
    while (Date.now() < deadline) {
      if (failure || child.exitCode !== null || child.signalCode !== null) break;
      if (await healthy(this.clientURL)) return;
      await sleep(50);
    }
    await this.stop("SIGKILL");
    const why = failure ? failure.message : this.logTail.join("\n") || "no output";
    throw new Error(
      `etcd member ${this.name} did not become healthy on ${this.clientURL}:\n${why}`,
    );
  }

  async stop(signal: "SIGTERM" | "SIGKILL" = "SIGTERM"): Promise<void> {
    const child = this.child;
    if (!child) return;
    this.child = undefined;
    // No pid: the binary never started (spawn failed), so there is nothing to wait for.
    if (child.pid !== undefined && child.exitCode === null && child.signalCode === null) {
      const exited = new Promise<void>((resolve) => child.once("exit", () => resolve()));
      child.kill(signal);
      const timer = setTimeout(() => child.kill("SIGKILL"), stopTimeoutMs);
      await exited;
      clearTimeout(timer);
    }
    live.delete(child);
  }
}

/** True when the member answers /health with {"health":"true"} (it has a leader). */
async function healthy(clientURL: string): Promise<boolean> {
  try {
    const res = await fetch(`${clientURL}/health`, { signal: AbortSignal.timeout(1_000) });
    const body: unknown = await res.json();
    return (
      typeof body === "object" && body !== null && (body as { health?: unknown }).health === "true"
    );
  } catch {
    return false;
  }
}

// Memory-backed storage when there is some: etcd fsyncs on every write.
function tempBase(): string {
  try {
    accessSync("/dev/shm", constants.W_OK);
    return "/dev/shm";
  } catch {
    return tmpdir();
  }
}

function removeRoot(root: string): void {
  rmSync(root, { recursive: true, force: true });
  dataRoots.delete(root);
}

function sleep(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}
