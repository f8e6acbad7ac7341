// ClusterIP and NodePort allocation. Each allocated address or port is a "claim" key in
// etcd, created in the same transaction as the Service that holds it and deleted with it,
// so nothing is handed out twice — across concurrent creates and apiserver restarts.
import { InvalidError } from "./errors.js";

export const SERVICE_IP_CLAIMS = "/registry/ranges/serviceips/";
export const NODE_PORT_CLAIMS = "/registry/ranges/servicenodeports/";

export function ipToInt(ip: string): number | undefined {
  const parts = ip.split(".");
  if (parts.length !== 4) return undefined;
  let n = 0;
  for (const p of parts) {
    if (!/^\d{1,3}$/.test(p) || Number(p) > 255) return undefined;
    n = n * 256 + Number(p);
  }
  return n;
}

export function intToIp(n: number): string {
  return [24, 16, 8, 0].map((s) => Math.floor(n / 2 ** s) % 256).join(".");
}

export interface Cidr {
  base: number;
  size: number;
  text: string;
}

export function parseCidr(text: string): Cidr {
  const m = /^(\d+\.\d+\.\d+\.\d+)\/(\d+)$/.exec(text);
  const ip = m ? ipToInt(m[1]!) : undefined;
  const bits = m ? Number(m[2]) : NaN;
  if (ip === undefined || !(bits >= 8 && bits <= 30))
    throw new Error(`invalid CIDR "${text}" (want e.g. 10.96.0.0/12)`);
  const size = 2 ** (32 - bits);
  return { base: ip - (ip % size), size, text };
}

export function parsePortRange(text: string): { min: number; max: number } {
  const m = /^(\d+)-(\d+)$/.exec(text);
  const min = Number(m?.[1]);
  const max = Number(m?.[2]);
  if (!m || min < 1 || max > 65535 || min > max)
    throw new Error(`invalid port range "${text}" (want e.g. 30000-32767)`);
  return { min, max };
}

/** Picks candidates; the transaction that creates the claim decides who gets one. */
export class ServiceAllocator {
  readonly serviceCidr: Cidr;
  readonly ports: { min: number; max: number };

  constructor(serviceCidr: string, nodePortRange: string) {
    this.serviceCidr = parseCidr(serviceCidr);
    this.ports = parsePortRange(nodePortRange);
  }

  /** The first usable address, reserved for the `kubernetes` Service. */
  firstIP(): string {
    return intToIp(this.serviceCidr.base + 1);
  }

  randomIP(): string {
    // Skip the network address, the first address (kubernetes) and the broadcast address.
    const offset = 2 + Math.floor(Math.random() * (this.serviceCidr.size - 3));
    return intToIp(this.serviceCidr.base + offset);
  }

  randomPort(): number {
    return this.ports.min + Math.floor(Math.random() * (this.ports.max - this.ports.min + 1));
  }

  checkIP(ip: string, name: string, field: string): void {
    const n = ipToInt(ip);
    if (n === undefined) {
      throw new InvalidError("Service", "", name, [
        {
          type: "FieldValueInvalid",
          field,
          message: `Invalid value: "${ip}": must be a valid IP address, (e.g. 10.9.8.7 or 2001:db8::ffff)`,
        },
      ]);
    }
    if (n <= this.serviceCidr.base || n >= this.serviceCidr.base + this.serviceCidr.size - 1) {
      throw new InvalidError("Service", "", name, [
        {
          type: "FieldValueInvalid",
          field,
          message: `Invalid value: "${ip}": failed to allocate IP ${ip}: provided IP is not in the valid range. The range of valid IPs is ${this.serviceCidr.text}`,
        },
      ]);
    }
  }

  checkPort(port: number, name: string, field: string): void {
    if (!Number.isInteger(port) || port < this.ports.min || port > this.ports.max) {
      throw new InvalidError("Service", "", name, [
        {
          type: "FieldValueInvalid",
          field,
          message: `Invalid value: ${port}: provided port is not in the valid range. The range of valid ports is ${this.ports.min}-${this.ports.max}`,
        },
      ]);
    }
  }
}
