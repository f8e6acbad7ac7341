// The node IPAM controller: gives every Node a pod CIDR (spec.podCIDR and podCIDRs) cut
// from --cluster-cidr, never the same one twice, and frees it when the Node goes.
import { isNotFound } from "@skiff/client";
import type { Lister, ResourceClient, SharedInformer, WorkQueue } from "@skiff/client";
import {
  enqueueHandler,
  newQueue,
  QueueController,
  type ControllerContext,
} from "../../controller.js";
import { resourceInfo } from "@skiff/api/light";
import type { Node } from "../../objects.js";
import { ConfigError } from "../../errors.js";

export interface NodeIpamOptions {
  /** --cluster-cidr (default 10.244.0.0/16). */
  clusterCIDR?: string;
  /** --node-cidr-mask-size (default 24). */
  nodeCIDRMaskSize?: number;
}

function parseIPv4(s: string): number {
  const parts = s.split(".").map(Number);
  if (parts.length !== 4 || parts.some((p) => !Number.isInteger(p) || p < 0 || p > 255)) {
    throw new ConfigError(`invalid IPv4 address ${JSON.stringify(s)}`);
  }
  return ((parts[0]! << 24) | (parts[1]! << 16) | (parts[2]! << 8) | parts[3]!) >>> 0;
}

function formatIPv4(n: number): string {
  return [n >>> 24, (n >>> 16) & 255, (n >>> 8) & 255, n & 255].join(".");
}

/** Hands out the /maskSize subnets of a cluster CIDR, lowest free first. */
export class CidrSet {
  readonly base: number;
  readonly prefix: number;
  readonly size: number;
  private readonly used = new Set<number>();

  constructor(
    clusterCIDR: string,
    readonly maskSize: number,
  ) {
    const [ip, bits] = clusterCIDR.split("/");
    this.prefix = Number(bits);
    if (!ip || !Number.isInteger(this.prefix) || this.prefix < 0 || this.prefix > 32) {
      throw new ConfigError(`invalid --cluster-cidr ${JSON.stringify(clusterCIDR)}`);
    }
    if (!Number.isInteger(maskSize) || maskSize < this.prefix || maskSize > 32) {
      throw new ConfigError(`--node-cidr-mask-size ${maskSize} does not fit in ${clusterCIDR}`);
    }
    const mask = this.prefix === 0 ? 0 : (~0 << (32 - this.prefix)) >>> 0;
    this.base = (parseIPv4(ip) & mask) >>> 0;
    this.size = 2 ** (maskSize - this.prefix);
  }

  private cidr(i: number): string {
    return `${formatIPv4((this.base + i * 2 ** (32 - this.maskSize)) >>> 0)}/${this.maskSize}`;
  }

  /** The index of a subnet of this set, or undefined when `cidr` is not one. */
  private indexOf(cidr: string): number | undefined {
    const [ip, bits] = cidr.split("/");
    if (!ip || Number(bits) !== this.maskSize) return undefined;
    let n: number;
    try {
      n = parseIPv4(ip);
    } catch {
      return undefined;
    }
    const offset = n - this.base;
    const step = 2 ** (32 - this.maskSize);
    if (offset < 0 || offset % step !== 0 || offset / step >= this.size) return undefined;
    return offset / step;
  }

  /** Marks a CIDR as taken; false when it is not a subnet of this set. */
  occupy(cidr: string): boolean {
    const i = this.indexOf(cidr);
    if (i === undefined) return false;
    this.used.add(i);
    return true;
  }

  release(cidr: string): void {
    const i = this.indexOf(cidr);
    if (i !== undefined) this.used.delete(i);
  }

  /** The lowest free subnet, now taken; undefined when the range is full. */
  allocateNext(): string | undefined {
    for (let i = 0; i < this.size; i++) {
      if (!this.used.has(i)) {
        this.used.add(i);
        return this.cidr(i);
      }
    }
    return undefined;
  }
}

export class NodeIpamController extends QueueController {
  readonly name = "nodeipam";
  readonly queue: WorkQueue<string>;
  readonly cidrs: CidrSet;
  private readonly nodes: Lister<Node>;
  private readonly informer: SharedInformer<Node>;
  private readonly client: ResourceClient<Node>;
  /** The CIDR each node holds, so a vanished node's CIDR can be freed. */
  private readonly allocated = new Map<string, string>();
  private rebuilt = false;

  constructor(ctx: ControllerContext, opts: NodeIpamOptions = {}) {
    super(ctx);
    this.cidrs = new CidrSet(opts.clusterCIDR ?? "10.244.0.0/16", opts.nodeCIDRMaskSize ?? 24);
    this.queue = newQueue(ctx, this.name);
    const info = resourceInfo("", "v1", "nodes");
    this.informer = ctx.informers.forResource<Node>(info);
    this.nodes = this.informer.lister();
    this.client = ctx.client.resource<Node>(info);
    this.informer.addEventHandler(enqueueHandler<Node>(this.queue));
  }

  protected cachesToSync() {
    return [this.informer as SharedInformer];
  }

  override run(workers: number, signal: AbortSignal): Promise<void> {
    // One worker: allocation must see every earlier allocation.
    return super.run(Math.min(workers, 1), signal);
  }

  /** Before the first allocation, learn what every existing Node already holds. */
  private rebuild(): void {
    if (this.rebuilt) return;
    this.rebuilt = true;
    for (const node of this.nodes.list()) {
      const cidr = node.spec?.podCIDR;
      if (cidr && this.cidrs.occupy(cidr)) this.allocated.set(node.metadata.name ?? "", cidr);
    }
  }

  async sync(name: string): Promise<void> {
    this.rebuild();
    const node = this.nodes.get(name);
    const held = this.allocated.get(name);
    if (!node) {
      if (held) {
        this.cidrs.release(held);
        this.allocated.delete(name);
        this.ctx.log.info({ node: name, podCIDR: held }, "released pod CIDR");
      }
      return;
    }
    const cidr = node.spec?.podCIDR;
    if (cidr) {
      // Set by us earlier or by someone else: either way it is taken.
      if (held !== cidr) {
        if (held) this.cidrs.release(held);
        if (this.cidrs.occupy(cidr)) this.allocated.set(name, cidr);
      }
      return;
    }
    const next = held ?? this.cidrs.allocateNext();
    if (!next) {
      this.ctx.log.error({ node: name }, "no pod CIDR left in the cluster CIDR");
      this.ctx
        .recorder("node-ipam-controller")
        .event(
          node,
          "Warning",
          "CIDRNotAvailable",
          "Node has no CIDR assigned: the cluster CIDR is exhausted",
        );
      return;
    }
    this.allocated.set(name, next);
    const update = structuredClone(node);
    update.spec = { ...(update.spec ?? {}), podCIDR: next, podCIDRs: [next] };
    try {
      await this.client.update(update); // compare-and-swap on resourceVersion
      this.ctx.log.info({ node: name, podCIDR: next }, "allocated pod CIDR");
    } catch (e) {
      if (isNotFound(e)) return; // gone meanwhile: its delete event frees the CIDR
      throw e; // a conflict retries with the same CIDR (it stays ours in `allocated`)
    }
  }
}

/** Fits the registry as is (defaults) or with options: `(ctx) => newNodeIpamController(ctx, opts)`. */
export const newNodeIpamController = (
  ctx: ControllerContext,
  opts: NodeIpamOptions = {},
): NodeIpamController => new NodeIpamController(ctx, opts);
