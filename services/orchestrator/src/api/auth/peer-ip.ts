import { isIP } from "node:net";

/**
 * The IP of a grpc-js peer address without its port (`1.2.3.4:5`, `[::1]:5`, `::1:5`), IPv4-mapped IPv6
 * written as IPv4; anything else (a unix socket path, "unknown") is returned unchanged.
 */
export function peerIp(address: string): string {
  let host = address;
  const bracketed = /^\[([^\]]+)\](?::\d+)?$/.exec(address);
  const cut = address.lastIndexOf(":");
  if (bracketed?.[1]) host = bracketed[1];
  // grpc-js writes `${remoteAddress}:${remotePort}` even for IPv6, so "2001:db8::7:443" is a valid address
  // and still ends in the port: the last segment is cut off whenever what is left is an IP.
  else if (cut > 0 && /^\d+$/.test(address.slice(cut + 1)) && isIP(address.slice(0, cut)) !== 0)
    host = address.slice(0, cut);
  const mapped = /^::ffff:(\d+\.\d+\.\d+\.\d+)$/i.exec(host);
  return mapped?.[1] ?? host;
}
