// The Docker runtime's streams: a container's log, and exec and attach sessions over the
// engine's hijacked connections (output raw with a TTY, else demultiplexed; stdin written
// into the connection; the exit code read once it closes).
import { PassThrough, Readable, type Duplex } from "node:stream";
import type Docker from "dockerode";
import { isObject } from "@skiff/api";
import { RuntimeError } from "../errors.js";
import { call, rec } from "./engine-json.js";
import type { AttachOptions, ExecOptions, ExecSession, LogOptions } from "./runtime.js";
import { demultiplex } from "./streams.js";

/** The log of one container instance; `tty` says whether the engine sends it raw. */
export async function logStream(
  container: Docker.Container,
  tty: boolean,
  opts: LogOptions,
): Promise<Readable> {
  const since = opts.sinceTime
    ? Date.parse(opts.sinceTime) / 1000
    : opts.sinceSeconds !== undefined
      ? Date.now() / 1000 - opts.sinceSeconds
      : undefined;
  const logOpts = {
    stdout: true,
    stderr: true,
    timestamps: opts.timestamps === true,
    tail: opts.tailLines ?? "all",
    since: since === undefined ? undefined : since.toFixed(9),
    abortSignal: opts.signal,
  } as Docker.ContainerLogsOptions;
  // dockerode answers a followed log with a stream and a finished one with a Buffer.
  const raw: Readable = opts.follow
    ? ((await call(() => container.logs({ ...logOpts, follow: true }))) as Readable)
    : Readable.from([await call(() => container.logs({ ...logOpts, follow: false }))]);
  if (tty) return raw;
  // Without a TTY the engine multiplexes stdout and stderr; Kubernetes shows them merged.
  const merged = new PassThrough();
  demultiplex(raw, merged, merged);
  return merged;
}

export async function execSession(
  container: Docker.Container,
  opts: ExecOptions,
): Promise<ExecSession> {
  const tty = opts.tty === true;
  const exec = await call(() =>
    container.exec({
      AttachStdin: opts.stdin === true,
      AttachStdout: true,
      AttachStderr: true,
      Tty: tty,
      Cmd: opts.command,
    }),
  );
  // hijack: the engine hands over the raw connection (stdin in, framed output back).
  const socket = await call(() =>
    exec.start({ hijack: true, stdin: opts.stdin === true, Detach: false, Tty: tty }),
  );
  return hijackedSession(socket, {
    tty,
    stdin: opts.stdin === true,
    // Ending stdin half-closes the connection, which the engine passes on as EOF.
    endStdin: true,
    exitCode: () => execExitCode(exec),
    resize: (w, h) => call(() => exec.resize({ w, h })),
  });
}

export async function attachSession(
  container: Docker.Container,
  opts: AttachOptions,
): Promise<ExecSession> {
  const config = rec(await call(() => container.inspect()), "Config");
  const withStdin = opts.stdin === true && config.OpenStdin === true;
  const socket = (await call(() =>
    container.attach({
      stream: true,
      stdin: withStdin,
      stdout: true,
      stderr: true,
      hijack: true,
    }),
  )) as Duplex;
  return hijackedSession(socket, {
    tty: config.Tty === true,
    stdin: withStdin,
    // The client's EOF ends the container's stdin only for stdinOnce containers: others
    // keep it open for the next attach, as Kubernetes does.
    endStdin: config.StdinOnce === true,
    exitCode: async () => {
      // A container removed meanwhile ends the attachment as cleanly as one still running.
      const state = rec(await call(() => container.inspect()).catch(() => ({})), "State");
      return state.Running === true ? 0 : Number(state.ExitCode ?? 0);
    },
    resize: (w, h) => call(() => container.resize({ w, h })),
  });
}

async function execExitCode(exec: Docker.Exec): Promise<number> {
  // The output can close a moment before the engine records the exit.
  for (let i = 0; i < 50; i++) {
    const info: unknown = await call(() => exec.inspect());
    if (isObject(info) && info.Running !== true && typeof info.ExitCode === "number") {
      return info.ExitCode;
    }
    await new Promise((r) => setTimeout(r, 20));
  }
  throw new RuntimeError(`exec ${exec.id} did not report an exit code`);
}

function hijackedSession(
  socket: Duplex,
  o: {
    tty: boolean;
    stdin: boolean;
    endStdin: boolean;
    exitCode: () => Promise<number>;
    resize: (width: number, height: number) => Promise<unknown>;
  },
): ExecSession {
  let stdout: Readable;
  let stderr: Readable | null = null;
  if (o.tty) stdout = socket.pipe(new PassThrough());
  else {
    const out = new PassThrough();
    const err = new PassThrough();
    demultiplex(socket, out, err);
    stdout = out;
    stderr = err;
  }
  let stdin: PassThrough | null = null;
  if (o.stdin) {
    stdin = new PassThrough();
    stdin.pipe(socket, { end: o.endStdin });
  }
  const exitCode = new Promise<number>((resolve, reject) => {
    socket.once("close", () => o.exitCode().then(resolve, reject));
  });
  return {
    stdin,
    stdout,
    stderr,
    exitCode,
    resize: async (width, height) => {
      await o.resize(width, height);
    },
    close: () => socket.destroy(),
  };
}
