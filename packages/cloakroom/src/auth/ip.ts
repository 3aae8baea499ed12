import ipaddr from 'ipaddr.js';

/**
 * The throttling key of a client address: IPv4 as dotted quad (IPv4-mapped IPv6 included),
 * IPv6 reduced to its /64, since one host typically owns a whole /64 and rotating within it
 * must not reset the count (better-auth GHSA-p6v2-xcpg-h6xw). Unknown or unparsable
 * addresses share one bucket rather than escaping the limit.
 */
export function throttleKeyOfIp(ip: string | null | undefined): string {
  if (!ip) return 'unknown';
  try {
    const addr = ipaddr.process(ip.replace(/^\[|\]$/g, '').replace(/%.*$/, ''));
    if (addr.kind() === 'ipv4') return addr.toString();
    const parts = (addr as ipaddr.IPv6).parts.slice(0, 4);
    return `${new ipaddr.IPv6([...parts, 0, 0, 0, 0]).toNormalizedString()}/64`;
  } catch {
    return 'unknown';
  }
}
