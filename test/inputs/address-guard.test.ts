import { describe, expect, it } from "vitest";
import { embeddedIPv4, isForbiddenAddress, isForbiddenHostname, parseIPv6 } from "../../src/inputs/address-guard.js";

const forbidden: Array<[string, string]> = [
  // IPv4
  ["0.0.0.0", "unspecified"],
  ["0.1.2.3", "this network 0/8"],
  ["10.0.0.1", "private 10/8"],
  ["10.255.255.255", "private 10/8 top"],
  ["100.64.0.1", "CGNAT bottom"],
  ["100.127.255.254", "CGNAT top"],
  ["127.0.0.1", "loopback"],
  ["127.255.255.254", "loopback /8"],
  ["169.254.0.1", "link-local"],
  ["169.254.169.254", "cloud metadata"],
  ["172.16.0.1", "private 172.16/12 bottom"],
  ["172.31.255.255", "private 172.16/12 top"],
  ["192.0.0.8", "IETF protocol assignments"],
  ["192.0.2.10", "TEST-NET-1"],
  ["192.88.99.1", "6to4 relay anycast"],
  ["192.168.1.1", "private 192.168/16"],
  ["198.18.0.1", "benchmarking"],
  ["198.19.255.255", "benchmarking /15 top"],
  ["198.51.100.7", "TEST-NET-2"],
  ["203.0.113.9", "TEST-NET-3"],
  ["224.0.0.1", "multicast"],
  ["239.255.255.250", "multicast SSDP"],
  ["240.0.0.1", "reserved"],
  ["255.255.255.255", "broadcast"],
  // IPv6
  ["::", "unspecified"],
  ["::1", "loopback"],
  ["0:0:0:0:0:0:0:1", "loopback, long form"],
  ["[::1]", "loopback in URL brackets"],
  ["::127.0.0.1", "IPv4-compatible (deprecated)"],
  ["::8.8.8.8", "IPv4-compatible of a public address (deprecated, never routed)"],
  ["::ffff:127.0.0.1", "IPv4-mapped loopback, dotted"],
  ["::ffff:7f00:1", "IPv4-mapped loopback, hex"],
  ["::FFFF:7F00:0001", "IPv4-mapped loopback, upper case"],
  ["0:0:0:0:0:ffff:a00:1", "IPv4-mapped 10.0.0.1, long form"],
  ["::ffff:169.254.169.254", "IPv4-mapped metadata"],
  ["::ffff:192.168.0.1", "IPv4-mapped private"],
  ["64:ff9b::7f00:1", "NAT64 of loopback"],
  ["64:ff9b::169.254.169.254", "NAT64 of metadata, dotted"],
  ["64:ff9b::a00:1", "NAT64 of 10.0.0.1"],
  ["64:ff9b:1::1", "local-use NAT64"],
  ["2002:7f00:1::", "6to4 embedding loopback"],
  ["2002:a9fe:a9fe::1", "6to4 embedding metadata"],
  ["2002:c0a8:101:1::5", "6to4 embedding 192.168.1.1"],
  ["100::1", "discard-only"],
  ["2001::1", "Teredo"],
  ["2001:2::1", "benchmarking"],
  ["2001:db8::1", "documentation"],
  ["3fff::1", "documentation (RFC 9637)"],
  ["fc00::1", "unique local"],
  ["fd12:3456:789a::1", "unique local fd"],
  ["fe80::1", "link-local"],
  ["fe80::1%eth0", "link-local with zone"],
  ["febf:ffff::1", "link-local /10 top"],
  ["fec0::1", "site-local (deprecated)"],
  ["ff02::1", "multicast"],
  // host names
  ["localhost", "localhost"],
  ["LOCALHOST", "localhost, upper case"],
  ["localhost.", "localhost, root dot"],
  ["foo.localhost", "*.localhost"],
  ["a.b.localhost.", "*.localhost, root dot"],
  ["metadata.google.internal", "GCP metadata"],
  ["Metadata.Google.Internal.", "GCP metadata, mixed case, root dot"],
];

const allowed: Array<[string, string]> = [
  ["8.8.8.8", "public DNS"],
  ["1.1.1.1", "public"],
  ["9.255.255.255", "just below 10/8"],
  ["11.0.0.0", "just above 10/8"],
  ["100.63.255.255", "just below CGNAT"],
  ["100.128.0.0", "just above CGNAT"],
  ["126.255.255.255", "just below loopback"],
  ["128.0.0.1", "just above loopback"],
  ["169.253.255.255", "just below link-local"],
  ["172.15.255.255", "just below 172.16/12"],
  ["172.32.0.0", "just above 172.16/12"],
  ["192.167.255.255", "just below 192.168/16"],
  ["192.169.0.0", "just above 192.168/16"],
  ["223.255.255.255", "just below multicast"],
  ["93.184.216.34", "public"],
  ["2606:4700:4700::1111", "public IPv6"],
  ["2a00:1450:4001::1", "public IPv6"],
  ["::ffff:8.8.8.8", "IPv4-mapped public"],
  ["::ffff:808:808", "IPv4-mapped public, hex"],
  ["64:ff9b::8.8.8.8", "NAT64 of public"],
  ["2002:808:808::1", "6to4 of public"],
  ["fbff:ffff::1", "just below fc00::/7"],
  ["fe00::1", "between ULA and link-local"],
  ["example.com", "host name (its addresses are checked on lookup)"],
  ["localhost.example.com", "host name that merely starts with localhost"],
  ["notlocalhost", "host name that ends with localhost but is not a subdomain"],
  ["metadata.google.internal.example.com", "look-alike metadata name"],
];

describe("isForbiddenAddress", () => {
  it.each(forbidden)("forbids %s (%s)", (address) => {
    expect(isForbiddenAddress(address)).toBe(true);
  });
  it.each(allowed)("allows %s (%s)", (address) => {
    expect(isForbiddenAddress(address)).toBe(false);
  });
});

describe("isForbiddenHostname", () => {
  it.each([
    ["localhost", true],
    ["sub.localhost", true],
    [" LocalHost. ", true],
    ["metadata.google.internal", true],
    ["localhost.com", false],
    ["mylocalhost", false],
    ["google.internal", false],
  ] as const)("%s → %s", (name, expected) => {
    expect(isForbiddenHostname(name)).toBe(expected);
  });
});

describe("parseIPv6", () => {
  it.each([
    ["::", [0, 0, 0, 0, 0, 0, 0, 0]],
    ["::1", [0, 0, 0, 0, 0, 0, 0, 1]],
    ["1::", [1, 0, 0, 0, 0, 0, 0, 0]],
    ["1:2:3:4:5:6:7:8", [1, 2, 3, 4, 5, 6, 7, 8]],
    ["fe80::1:2", [0xfe80, 0, 0, 0, 0, 0, 1, 2]],
    ["::ffff:1.2.3.4", [0, 0, 0, 0, 0, 0xffff, 0x0102, 0x0304]],
    ["[2001:db8::ff]", [0x2001, 0xdb8, 0, 0, 0, 0, 0, 0xff]],
  ] as const)("%s", (text, words) => {
    expect(parseIPv6(text)).toEqual(words);
  });
  it.each(["1.2.3.4", "example.com", "1:2:3", "::g"])("rejects %s", (text) => {
    expect(parseIPv6(text)).toBeUndefined();
  });
});

describe("embeddedIPv4", () => {
  const words = (text: string) => parseIPv6(text) ?? [];
  it.each([
    ["::ffff:10.1.2.3", "10.1.2.3"],
    ["64:ff9b::c0a8:101", "192.168.1.1"],
    ["2002:0102:0304:5::6", "1.2.3.4"],
    ["2606:4700::1111", undefined],
    ["::1", undefined],
  ] as const)("%s → %s", (text, v4) => {
    expect(embeddedIPv4(words(text))).toBe(v4);
  });
});
