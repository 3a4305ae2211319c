import { BlockList, isIP } from "node:net";

/**
 * The SSRF guard: which addresses an http(s) input may never reach (unless FLUX_FILL_ALLOW_PRIVATE_URLS=1).
 * Pure; the fetcher applies it to every address a host name resolves to, and to IP-literal hosts.
 */

/** IPv4 ranges that are not the public internet (RFC 6890 special-purpose registry, plus multicast). */
const FORBIDDEN_V4: ReadonlyArray<readonly [string, number]> = [
  ["0.0.0.0", 8], // "this network", incl. the unspecified 0.0.0.0
  ["10.0.0.0", 8], // private
  ["100.64.0.0", 10], // carrier-grade NAT
  ["127.0.0.0", 8], // loopback
  ["169.254.0.0", 16], // link-local, incl. cloud metadata 169.254.169.254
  ["172.16.0.0", 12], // private
  ["192.0.0.0", 24], // IETF protocol assignments
  ["192.0.2.0", 24], // documentation (TEST-NET-1)
  ["192.88.99.0", 24], // 6to4 relay anycast (deprecated)
  ["192.168.0.0", 16], // private
  ["198.18.0.0", 15], // benchmarking
  ["198.51.100.0", 24], // documentation (TEST-NET-2)
  ["203.0.113.0", 24], // documentation (TEST-NET-3)
  ["224.0.0.0", 4], // multicast
  ["240.0.0.0", 4], // reserved, incl. broadcast 255.255.255.255
];

/** IPv6 ranges that are never public unicast. Ranges that embed an IPv4 address are handled separately. */
const FORBIDDEN_V6: ReadonlyArray<readonly [string, number]> = [
  ["::", 96], // unspecified ::, loopback ::1, deprecated IPv4-compatible ::a.b.c.d
  ["64:ff9b:1::", 48], // NAT64 for local use (RFC 8215)
  ["100::", 64], // discard-only
  ["2001::", 32], // Teredo (tunnels to an obfuscated IPv4 address)
  ["2001:2::", 48], // benchmarking
  ["2001:db8::", 32], // documentation
  ["3fff::", 20], // documentation (RFC 9637)
  ["fc00::", 7], // unique local (private)
  ["fe80::", 10], // link-local
  ["fec0::", 10], // site-local (deprecated)
  ["ff00::", 8], // multicast
];

const forbidden = new BlockList();
for (const [network, prefix] of FORBIDDEN_V4) forbidden.addSubnet(network, prefix, "ipv4");
for (const [network, prefix] of FORBIDDEN_V6) forbidden.addSubnet(network, prefix, "ipv6");

/** Host names that mean "this machine" or a cloud metadata service whatever DNS says. */
const FORBIDDEN_HOSTNAMES = new Set(["localhost", "metadata.google.internal"]);

/**
 * True when an http(s) input must not connect to `host`: an IPv4/IPv6 address in a non-public range
 * (loopback, private, link-local, CGNAT, multicast, documentation, …, and IPv6 forms that embed such an
 * IPv4 address: IPv4-mapped, NAT64 64:ff9b::/96, 6to4 2002::/16), or a host name that always means a
 * local service (`localhost`, `*.localhost`, `metadata.google.internal`). Any other host name is not
 * forbidden by itself: the addresses it resolves to are checked.
 */
export function isForbiddenAddress(host: string): boolean {
  const address = stripBracketsAndZone(host);
  const family = isIP(address);
  if (family === 4) return forbidden.check(address, "ipv4");
  if (family === 6) return isForbiddenIPv6(address);
  return isForbiddenHostname(host);
}

/** `localhost`, `*.localhost` (RFC 6761) and `metadata.google.internal`, in any case, with or without the root dot. */
export function isForbiddenHostname(hostname: string): boolean {
  const name = hostname.trim().toLowerCase().replace(/\.+$/, "");
  return FORBIDDEN_HOSTNAMES.has(name) || name.endsWith(".localhost");
}

function isForbiddenIPv6(address: string): boolean {
  const words = parseIPv6(address);
  if (words === undefined) return true; // isIP accepted it but we cannot read it: refuse rather than guess
  const embedded = embeddedIPv4(words);
  if (embedded !== undefined && forbidden.check(embedded, "ipv4")) return true;
  return forbidden.check(address, "ipv6");
}

/**
 * The IPv4 address an IPv6 address stands for, when it is one of the forms that route to IPv4:
 * IPv4-mapped ::ffff:a.b.c.d, NAT64 64:ff9b::a.b.c.d, and 6to4 2002:aabb:ccdd::/48.
 */
export function embeddedIPv4(words: readonly number[]): string | undefined {
  const w = (i: number) => words[i] ?? 0;
  const zeroUpTo = (n: number) => words.slice(0, n).every((x) => x === 0);
  if (zeroUpTo(5) && w(5) === 0xffff) return v4FromWords(w(6), w(7));
  if (w(0) === 0x64 && w(1) === 0xff9b && words.slice(2, 6).every((x) => x === 0)) return v4FromWords(w(6), w(7));
  if (w(0) === 0x2002) return v4FromWords(w(1), w(2));
  return undefined;
}

function v4FromWords(high: number, low: number): string {
  return [high >> 8, high & 0xff, low >> 8, low & 0xff].join(".");
}

/** Eight 16-bit words of a textual IPv6 address (with `::` and a trailing dotted quad), or undefined. */
export function parseIPv6(text: string): number[] | undefined {
  let address = stripBracketsAndZone(text);
  if (isIP(address) !== 6) return undefined;
  const dotted = /(\d+\.\d+\.\d+\.\d+)$/.exec(address);
  if (dotted?.[1]) {
    const [a = 0, b = 0, c = 0, d = 0] = dotted[1].split(".").map(Number);
    address = `${address.slice(0, dotted.index)}${((a << 8) | b).toString(16)}:${((c << 8) | d).toString(16)}`;
  }
  const halves = address.split("::");
  const parse = (part: string | undefined) => (part ? part.split(":").map((h) => Number.parseInt(h, 16)) : []);
  const head = parse(halves[0]);
  const tail = parse(halves[1]);
  const words = halves.length === 2 ? [...head, ...new Array(8 - head.length - tail.length).fill(0), ...tail] : head;
  if (words.length !== 8 || words.some((x) => !Number.isInteger(x) || x < 0 || x > 0xffff)) return undefined;
  return words;
}

/** `[::1]` → `::1` (URL host form), `fe80::1%eth0` → `fe80::1` (zone ids do not change the range). */
function stripBracketsAndZone(host: string): string {
  let address = host.trim();
  if (address.startsWith("[") && address.endsWith("]")) address = address.slice(1, -1);
  const zone = address.indexOf("%");
  if (zone !== -1 && address.includes(":")) address = address.slice(0, zone);
  return address;
}
