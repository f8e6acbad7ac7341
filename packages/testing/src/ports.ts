// Picks free TCP ports on loopback so that tests can run side by side.
import { createServer } from "node:net";

// Ports already handed out in this process: the kernel may offer a port again once its
// probe socket is closed, before the program it was meant for has bound it.
const handedOut = new Set<number>();

/** A TCP port on 127.0.0.1 that nothing listens on now and that this process has not handed out. */
export async function freePort(): Promise<number> {
  for (;;) {
    const port = await new Promise<number>((resolve, reject) => {
      const server = createServer();
      server.once("error", reject);
      server.listen(0, "127.0.0.1", () => {
        const address = server.address();
        const port = typeof address === "object" && address ? address.port : 0;
        server.close(() => resolve(port));
      });
    });
    if (port > 0 && !handedOut.has(port)) {
      handedOut.add(port);
      return port;
    }
  }
}
