// What /exec and /attach do whatever carries them (WebSocket channels or SPDY streams): find
// the running container, start the command (exec) or join the container's own process
// (attach), copy the output out, and end with the metav1.Status the client reads for the exit
// code (Success, or NonZeroExitCode with an ExitCode cause; attach always ends in Success, as
// in Kubernetes).
import type { Kubelet } from "./kubelet.js";
import type { ExecSession } from "./runtime/runtime.js";

export interface ExecTarget {
  kind: "exec" | "attach";
  containerId: string;
  command: string[];
  stdin: boolean;
  stdout: boolean;
  stderr: boolean;
  tty: boolean;
}

/** A request the kubelet cannot serve: answered before any upgrade, with this HTTP code. */
export class ExecRequestError extends Error {
  constructor(
    readonly code: number,
    message: string,
  ) {
    super(message);
  }
}

/**
 * /exec/{ns}/{pod}/{container}?command=...&stdin=... or /attach/{ns}/{pod}/{container}?stdin=...:
 * the running container it names.
 */
export async function execTarget(kubelet: Kubelet, rawUrl: string): Promise<ExecTarget> {
  const url = new URL(rawUrl, "https://kubelet");
  const [kind, ns = "", name = "", containerName = ""] = url.pathname
    .split("/")
    .filter(Boolean)
    .map(decodeURIComponent);
  const q = url.searchParams;
  const flag = (k: string) => q.get(k) === "true" || q.get(k) === "1";
  const command = q.getAll("command");
  const attach = kind === "attach";
  if (!attach && command.length === 0)
    throw new ExecRequestError(400, "you must specify a command");
  const pod = kubelet
    .listPods()
    .find((p) => p.metadata.namespace === ns && p.metadata.name === name && !!p.metadata.uid);
  if (!pod) throw new ExecRequestError(404, `pod ${ns}/${name} not found`);
  const target = (await kubelet.runtime.listContainers({ podUid: pod.metadata.uid! })).find(
    (c) => c.name === containerName && c.state === "running",
  );
  if (!target) throw new ExecRequestError(404, `container ${containerName} is not running`);
  return {
    kind: attach ? "attach" : "exec",
    containerId: target.id,
    command,
    stdin: flag("stdin"),
    stdout: flag("stdout"),
    stderr: flag("stderr"),
    tty: flag("tty"),
  };
}

export type ExecStatus = Record<string, unknown>;

/**
 * Runs the command; `started` gets the session (for stdin and resize), `output` each chunk
 * of stdout (1) or stderr (2). Resolves with the Status to send once the output is out.
 */
export async function runExec(
  kubelet: Kubelet,
  t: ExecTarget,
  started: (session: ExecSession) => void,
  output: (channel: 1 | 2, data: Buffer) => void,
): Promise<ExecStatus> {
  const session =
    t.kind === "attach"
      ? await kubelet.runtime.attach(t.containerId, { stdin: t.stdin })
      : await kubelet.runtime.exec(t.containerId, {
          command: t.command,
          stdin: t.stdin,
          tty: t.tty,
        });
  started(session);
  const outputs = [session.stdout, session.stderr].filter((s) => s !== null);
  const done = outputs.map(
    (s, i) =>
      new Promise<void>((resolve) => {
        s.on("data", (chunk: Buffer) => output(i === 0 ? 1 : 2, chunk));
        s.on("end", resolve);
        s.on("close", resolve);
        s.on("error", () => resolve());
      }),
  );
  const code = await session.exitCode;
  await Promise.race([Promise.all(done), new Promise((r) => setTimeout(r, 1000))]);
  return code === 0 || t.kind === "attach"
    ? { metadata: {}, status: "Success" }
    : {
        metadata: {},
        status: "Failure",
        message: `command terminated with non-zero exit code: exit status ${code}`,
        reason: "NonZeroExitCode",
        details: { causes: [{ reason: "ExitCode", message: String(code) }] },
      };
}

/** A terminal size message ({"Width":80,"Height":24}) applied to the session; bad ones ignored. */
export function applyResize(session: ExecSession, json: string): void {
  try {
    const size = JSON.parse(json) as { Width?: number; Height?: number };
    if (size.Width && size.Height) void session.resize(size.Width, size.Height).catch(() => {});
  } catch {
    // a malformed resize is ignored
  }
}
