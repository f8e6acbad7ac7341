// `exec`: runs a command in a container over the v5.channel.k8s.io WebSocket protocol
// (binary frames whose first byte is the channel: 0 stdin, 1 stdout, 2 stderr, 3 status,
// 4 resize, 255 close).
import WebSocket from "ws";
import { str, strings, type Ctx } from "../context.js";
import { CommandError } from "../errors.js";
import { resourcePath } from "../discovery.js";
import { chooseContainer } from "./logs.js";

/** The exit code a v5 status frame reports (0 on Success). */
export function exitCodeOf(status: unknown): number {
  const s = (status ?? {}) as {
    status?: string;
    reason?: string;
    message?: string;
    details?: { causes?: { reason?: string; message?: string }[] };
  };
  if (s.status === "Success") return 0;
  const cause = s.details?.causes?.find((c) => c.reason === "ExitCode");
  if (s.reason === "NonZeroExitCode" && cause?.message) return Number(cause.message) || 1;
  throw new CommandError(`error: ${s.message ?? "command failed"}`);
}

export async function exec(ctx: Ctx): Promise<number> {
  const command = strings(ctx.args["--"]);
  if (command.length === 0)
    throw new CommandError("error: you must specify at least one command for the container");
  const pods = await ctx.discovery.resolve("pods");
  const podName = (str(ctx.args.pod) ?? "").replace(/^(pods?|po)\//, "");
  const pod = (await ctx.rest.request("GET", resourcePath(pods, ctx.namespace, podName))) as Record<
    string,
    unknown
  >;
  const container = chooseContainer(pod, str(ctx.args.container));
  const tty = ctx.args.tty === true;
  const useStdin = ctx.args.stdin === true;
  const url = new URL(ctx.config.server + resourcePath(pods, ctx.namespace, podName, "exec"));
  url.protocol = url.protocol === "https:" ? "wss:" : "ws:";
  for (const c of command) url.searchParams.append("command", c);
  url.searchParams.set("container", container);
  url.searchParams.set("stdout", "true");
  url.searchParams.set("stderr", tty ? "false" : "true");
  if (useStdin) url.searchParams.set("stdin", "true");
  if (tty) url.searchParams.set("tty", "true");
  const cfg = ctx.config;
  const ws = new WebSocket(url, ["v5.channel.k8s.io"], {
    ...(cfg.ca ? { ca: cfg.ca } : {}),
    ...(cfg.cert && cfg.key ? { cert: cfg.cert, key: cfg.key } : {}),
    ...(cfg.token ? { headers: { Authorization: `Bearer ${cfg.token}` } } : {}),
    rejectUnauthorized: !cfg.insecure,
  });
  const stdin = ctx.io.stdin as
    (NodeJS.ReadStream & { setRawMode?: (raw: boolean) => void }) | undefined;
  const raw = tty && useStdin && stdin?.isTTY === true && typeof stdin.setRawMode === "function";
  return new Promise<number>((resolve, reject) => {
    let code: number | undefined;
    let failure: unknown;
    const cleanup = (): void => {
      if (raw) stdin!.setRawMode!(false);
      stdin?.pause();
    };
    ws.on("open", () => {
      if (!useStdin || !stdin) return;
      if (raw) stdin.setRawMode!(true);
      stdin.on("data", (d: Buffer | string) =>
        ws.send(Buffer.concat([Buffer.from([0]), Buffer.isBuffer(d) ? d : Buffer.from(d)])),
      );
      stdin.on("end", () => ws.send(Buffer.from([255, 0])));
      stdin.resume();
      if (tty && process.stdout.columns) {
        ws.send(
          Buffer.concat([
            Buffer.from([4]),
            Buffer.from(
              JSON.stringify({ Width: process.stdout.columns, Height: process.stdout.rows }),
            ),
          ]),
        );
      }
    });
    ws.on("message", (data: Buffer) => {
      const channel = data[0];
      const payload = data.subarray(1);
      if (channel === 1) ctx.out(payload);
      else if (channel === 2) ctx.err(payload);
      else if (channel === 3) {
        try {
          code = exitCodeOf(JSON.parse(payload.toString("utf8")));
        } catch (e) {
          failure = e;
        }
      }
    });
    ws.on("unexpected-response", (_req, res) => {
      const chunks: Buffer[] = [];
      res.on("data", (c: Buffer) => chunks.push(c));
      res.on("end", () => {
        cleanup();
        let msg = Buffer.concat(chunks).toString("utf8");
        try {
          const s = JSON.parse(msg) as { message?: string; reason?: string };
          msg = `Error from server (${s.reason ?? res.statusCode}): ${s.message ?? msg}`;
        } catch {
          msg = `error: unable to upgrade connection: ${res.statusCode} ${msg.trim()}`;
        }
        reject(new CommandError(msg));
      });
    });
    ws.on("error", (e) => {
      cleanup();
      reject(new CommandError(`error: ${e.message}`));
    });
    ws.on("close", () => {
      cleanup();
      if (failure) reject(failure);
      else resolve(code ?? 0);
    });
  });
}
